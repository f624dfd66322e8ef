#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct option_desc {
	const char *flag; /* "admin_socket", spelt --admin-socket */
	char shortopt;
	enum dp_option_type type;
	const char *def;
	unsigned int max;
	const char *metavar;
	const char *help;
	size_t offset;
};

static const struct option_desc option_table[] = {
#define DP_OPTION_DESC(field, shortopt, type, def, max, metavar, help)                             \
	{#field, shortopt, type, def, max, metavar, help, offsetof(struct dp_options, field)},
	DP_OPTIONS(DP_OPTION_DESC)
#undef DP_OPTION_DESC
};

#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]))

enum { OPT_HELP = 1000, OPT_VERSION };

/* Table names are C identifiers; flags spell them with hyphens. */
static void flag_name(const char *field, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; field[i] != '\0' && i + 1 < outlen; i++)
		out[i] = field[i] == '_' ? '-' : field[i];
	out[i] = '\0';
}

int dp_parse_ipv4_prefix(const char *s, struct dp_ipv4_prefix *out)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr in;
	unsigned int len;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
		return -1;
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -1;
	if (dp_parse_uint(slash + 1, 32, &len) < 0 || len == 0)
		return -1;
	out->addr = in.s_addr;
	out->len = len;
	out->netmask = htonl(len == 32 ? UINT32_MAX : ~(UINT32_MAX >> len));
	out->set = 1;
	return 0;
}

int dp_parse_mac(const char *s, struct dp_mac *out)
{
	struct rte_ether_addr a;

	if (strlen(s) != 17 || rte_ether_unformat_addr(s, &a) < 0)
		return -1;
	if (!rte_is_unicast_ether_addr(&a) || rte_is_zero_ether_addr(&a))
		return -1;
	out->addr = a;
	out->set = 1;
	return 0;
}

int dp_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/*
 * CIDR[,CIDR...]: each an address/prefix; host bits are cleared, so
 * 198.18.0.7/24 means 198.18.0.0/24.
 */
int dp_parse_cidr_list(const char *s, struct dp_cidr_list *out)
{
	char item[64];
	const char *p = s;

	out->n = 0;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		struct dp_ipv4_prefix *e;

		if (len == 0 || len >= sizeof(item) || out->n == DP_CIDR_LIST_MAX)
			return -1;
		memcpy(item, p, len);
		item[len] = '\0';
		e = &out->e[out->n];
		if (dp_parse_ipv4_prefix(item, e) < 0)
			return -1;
		e->addr &= e->netmask;
		out->n++;
		p += len;
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	return out->n > 0 ? 0 : -1;
}

/* memcached's -I form: bytes, or k/m (either case) multiples; at least 1k. */
int dp_parse_size(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v <<= 20;
		end++;
	}
	if (*end != '\0' || v < 1024 || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static const char *type_expectation(const struct option_desc *d, char *buf, size_t len)
{
	switch (d->type) {
	case DP_OPT_IPV4_PREFIX:
		return "an IPv4 address/prefix such as 198.18.0.2/24";
	case DP_OPT_MAC:
		return "a unicast MAC such as 02:00:00:00:00:01";
	case DP_OPT_STRING:
		snprintf(buf, len, "a string of at most %d bytes", DP_OPT_STRING_MAX - 1);
		return buf;
	case DP_OPT_UINT:
		snprintf(buf, len, "an integer from 0 to %u", d->max);
		return buf;
	case DP_OPT_SIZE:
		snprintf(buf, len, "a size from 1k to %um (bytes, or with k or m)", d->max >> 20);
		return buf;
	case DP_OPT_CIDR_LIST:
		snprintf(buf, len, "a list of up to %d networks such as 198.18.0.0/15,10.1.0.0/16",
			 DP_CIDR_LIST_MAX);
		return buf;
	}
	return "?";
}

static int option_set(struct dp_options *opts, const struct option_desc *d, const char *val)
{
	void *field = (char *)opts + d->offset;

	switch (d->type) {
	case DP_OPT_IPV4_PREFIX:
		return dp_parse_ipv4_prefix(val, field);
	case DP_OPT_MAC:
		return dp_parse_mac(val, field);
	case DP_OPT_STRING:
		if (strlen(val) >= DP_OPT_STRING_MAX)
			return -1;
		strcpy(field, val);
		return 0;
	case DP_OPT_UINT:
		return dp_parse_uint(val, d->max, field);
	case DP_OPT_CIDR_LIST:
		return dp_parse_cidr_list(val, field);
	case DP_OPT_SIZE:
		return dp_parse_size(val, d->max, field);
	}
	return -1;
}

/* getopt returns a long option's table index, or a short option's letter. */
static int option_index(int c)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (option_table[i].shortopt != 0 && option_table[i].shortopt == c)
			return (int)i;
	return c;
}

enum dp_options_result dp_options_parse(struct dp_options *opts, int argc, char **argv,
					char *err, size_t errlen)
{
	struct option longopts[N_OPTIONS + 3];
	char names[N_OPTIONS][32];
	char flag[32], expect[128];
	char shortopts[2 * N_OPTIONS + 3] = ":h";
	size_t ns = 2;
	int c, idx;

	memset(opts, 0, sizeof(*opts));
	for (size_t i = 0; i < N_OPTIONS; i++) {
		flag_name(option_table[i].flag, names[i], sizeof(names[i]));
		longopts[i] = (struct option){names[i], required_argument, NULL, (int)i};
		if (option_table[i].shortopt != 0) {
			shortopts[ns++] = option_table[i].shortopt;
			shortopts[ns++] = ':';
		}
		if (option_table[i].def != NULL && option_set(opts, &option_table[i],
							      option_table[i].def) < 0) {
			snprintf(err, errlen, "built-in default of --%s is invalid", names[i]);
			return DP_OPTIONS_ERROR;
		}
	}
	longopts[N_OPTIONS] = (struct option){"help", no_argument, NULL, OPT_HELP};
	longopts[N_OPTIONS + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	longopts[N_OPTIONS + 2] = (struct option){NULL, 0, NULL, 0};

	optind = 1;
	opterr = 0;
	shortopts[ns] = '\0';
	while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
		if (c == OPT_HELP || c == 'h') {
			dp_options_usage(stdout);
			return DP_OPTIONS_EXIT_OK;
		}
		if (c == OPT_VERSION) {
			printf("dpcached %s\n", DPCACHE_VERSION);
			return DP_OPTIONS_EXIT_OK;
		}
		if (c == '?') {
			snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
			return DP_OPTIONS_ERROR;
		}
		if (c == ':') {
			snprintf(err, errlen, "option '%s' needs a value (see --help)",
				 argv[optind - 1]);
			return DP_OPTIONS_ERROR;
		}
		c = option_index(c);
		if (option_set(opts, &option_table[c], optarg) < 0) {
			flag_name(option_table[c].flag, flag, sizeof(flag));
			snprintf(err, errlen, "--%s: '%s' is not %s", flag, optarg,
				 type_expectation(&option_table[c], expect, sizeof(expect)));
			return DP_OPTIONS_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return DP_OPTIONS_ERROR;
	}
	if (opts->max_conns == 0) {
		snprintf(err, errlen, "--max-conns: must be at least 1");
		return DP_OPTIONS_ERROR;
	}
	if (opts->memory_limit == 0) {
		snprintf(err, errlen, "--memory-limit: must be at least 1 MB");
		return DP_OPTIONS_ERROR;
	}
	if (!opts->ip.set) {
		snprintf(err, errlen, "--ip is required (the data port's ADDR/PREFIX)");
		return DP_OPTIONS_ERROR;
	}
	return DP_OPTIONS_OK;
}

void dp_options_usage(FILE *out)
{
	char flag[64], name[32];

	fprintf(out, "usage: dpcached [EAL options] -- [options]\n\n"
		     "EAL options are DPDK's (see dpdk's documentation); always give at least\n"
		     "two lcores: the first runs the admin socket, the others are workers.\n\n"
		     "options:\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_desc *d = &option_table[i];

		flag_name(d->flag, name, sizeof(name));
		if (d->shortopt != 0)
			snprintf(flag, sizeof(flag), "-%c, --%s %s", d->shortopt, name, d->metavar);
		else
			snprintf(flag, sizeof(flag), "    --%s %s", name, d->metavar);
		fprintf(out, "  %-34s %s", flag, d->help);
		if (d->def != NULL)
			fprintf(out, " [%s]", d->def);
		fputc('\n', out);
	}
	fprintf(out, "  %-34s %s\n  %-34s %s\n", "-h, --help", "print this text",
		"    --version", "print the version");
}
