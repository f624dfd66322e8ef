/*
 * dpcache-loadgen: memcache gets and sets at a server, counted and checked.
 *
 *   dpcache-loadgen [EAL options --] [options]
 *
 * With --transport memif (the default) the EAL options name a net_memif
 * port connected to dpcached; with --transport kernel there are none and
 * ordinary sockets reach e.g. a stock memcached on loopback. The figures are
 * printed as `name value` lines; the exit status is non-zero if a reply was
 * wrong, none came, or a TCP stream lost bytes.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: dpcache-loadgen [EAL options --] [options]\n"
    "\n"
    "  --proto udp|tcp          memcache over UDP (gets) or TCP [udp]\n"
    "  --transport memif|kernel a DPDK port (EAL's --vdev) or kernel sockets [memif]\n"
    "  --server IP[:PORT]       the server [198.18.0.2:11211]\n"
    "  --ip IP                  our address on the DPDK port [198.18.0.1]\n"
    "  --server-mac MAC         the server's Ethernet address (default: ask by ARP)\n"
    "  --src-port N             our first UDP/TCP port [40000]\n"
    "  --keys N                 distinct keys [100000]\n"
    "  --key-len N              bytes per key, 8..250 [32]\n"
    "  --value-len N            bytes per value, 1..1024 [100]\n"
    "  --zipf THETA             Zipf popularity (e.g. 0.99); 0: uniform [0]\n"
    "  --set-ratio R            share of sets in the run, 0..1 (TCP) [0]\n"
    "  --window N               UDP: requests outstanding; TCP: per connection [64]\n"
    "  --conns N                TCP connections [8]\n"
    "  --duration S             seconds measured [2]\n"
    "  --warmup S               seconds run first, not measured [0.5]\n"
    "  --timeout-ms N           a UDP request unanswered this long is lost [200]\n"
    "  --preload 0|1            set every key before the run [1]\n"
    "  --seed N                 popularity draw seed [1]\n"
    "  --linger S               memif: after the report, wait up to S seconds for the\n"
    "                           server to close the link before closing ours [0]\n";

enum {
	OPT_PROTO = 1000,
	OPT_TRANSPORT,
	OPT_SERVER,
	OPT_IP,
	OPT_SERVER_MAC,
	OPT_SRC_PORT,
	OPT_KEYS,
	OPT_KEY_LEN,
	OPT_VALUE_LEN,
	OPT_ZIPF,
	OPT_SET_RATIO,
	OPT_WINDOW,
	OPT_CONNS,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_TIMEOUT,
	OPT_PRELOAD,
	OPT_SEED,
	OPT_LINGER,
	OPT_HELP,
};

static const struct option longopts[] = {
    {"proto", required_argument, NULL, OPT_PROTO},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"server", required_argument, NULL, OPT_SERVER},
    {"ip", required_argument, NULL, OPT_IP},
    {"server-mac", required_argument, NULL, OPT_SERVER_MAC},
    {"src-port", required_argument, NULL, OPT_SRC_PORT},
    {"keys", required_argument, NULL, OPT_KEYS},
    {"key-len", required_argument, NULL, OPT_KEY_LEN},
    {"value-len", required_argument, NULL, OPT_VALUE_LEN},
    {"zipf", required_argument, NULL, OPT_ZIPF},
    {"set-ratio", required_argument, NULL, OPT_SET_RATIO},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"conns", required_argument, NULL, OPT_CONNS},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"preload", required_argument, NULL, OPT_PRELOAD},
    {"seed", required_argument, NULL, OPT_SEED},
    {"linger", required_argument, NULL, OPT_LINGER},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "dpcache-loadgen: bad %s '%s' (see --help)\n", what, arg);
	return -1;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_server(const char *s, struct lg_options *o)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	double port;
	struct in_addr a;

	if (n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1)
		return -1;
	o->server_ip = a.s_addr;
	if (colon != NULL) {
		if (parse_num(colon + 1, 1, 65535, &port) < 0)
			return -1;
		o->server_port = (uint16_t)port;
	}
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct lg_options *o)
{
	struct in_addr a;
	double v;
	int c;

	*o = (struct lg_options){
	    .proto = LG_UDP,
	    .transport = LG_MEMIF,
	    .keys = 100000,
	    .key_len = 32,
	    .value_len = 100,
	    .window = 64,
	    .conns = 8,
	    .duration = 2,
	    .warmup = 0.5,
	    .timeout_ms = 200,
	    .preload = true,
	    .seed = 1,
	    .server_port = 11211,
	    .src_port = 40000,
	};
	inet_pton(AF_INET, "198.18.0.1", &o->local_ip);
	inet_pton(AF_INET, "198.18.0.2", &o->server_ip);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PROTO:
			if (strcmp(optarg, "udp") != 0 && strcmp(optarg, "tcp") != 0)
				return bad("--proto", optarg);
			o->proto = optarg[0] == 'u' ? LG_UDP : LG_TCP;
			break;
		case OPT_TRANSPORT:
			if (strcmp(optarg, "memif") != 0 && strcmp(optarg, "kernel") != 0)
				return bad("--transport", optarg);
			o->transport = optarg[0] == 'm' ? LG_MEMIF : LG_KERNEL;
			break;
		case OPT_SERVER:
			if (parse_server(optarg, o) < 0)
				return bad("--server", optarg);
			break;
		case OPT_IP:
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return bad("--ip", optarg);
			o->local_ip = a.s_addr;
			break;
		case OPT_SERVER_MAC:
			if (parse_mac(optarg, o->server_mac) < 0)
				return bad("--server-mac", optarg);
			o->server_mac_set = true;
			break;
		case OPT_SRC_PORT:
			if (parse_num(optarg, 1024, 65535 - LG_CONNS_MAX, &v) < 0)
				return bad("--src-port", optarg);
			o->src_port = (uint16_t)v;
			break;
		case OPT_KEYS:
			if (parse_num(optarg, 1, 1e8, &v) < 0)
				return bad("--keys", optarg);
			o->keys = (uint32_t)v;
			break;
		case OPT_KEY_LEN:
			if (parse_num(optarg, 8, LG_KEY_LEN_MAX, &v) < 0)
				return bad("--key-len", optarg);
			o->key_len = (unsigned int)v;
			break;
		case OPT_VALUE_LEN:
			if (parse_num(optarg, 1, LG_VALUE_LEN_MAX, &v) < 0)
				return bad("--value-len", optarg);
			o->value_len = (unsigned int)v;
			break;
		case OPT_ZIPF:
			if (parse_num(optarg, 0, 0.9999, &v) < 0)
				return bad("--zipf", optarg);
			o->zipf = v;
			break;
		case OPT_SET_RATIO:
			if (parse_num(optarg, 0, 1, &v) < 0)
				return bad("--set-ratio", optarg);
			o->set_ratio = v;
			break;
		case OPT_WINDOW:
			if (parse_num(optarg, 1, LG_UDP_WINDOW_MAX, &v) < 0)
				return bad("--window", optarg);
			o->window = (unsigned int)v;
			break;
		case OPT_CONNS:
			if (parse_num(optarg, 1, LG_CONNS_MAX, &v) < 0)
				return bad("--conns", optarg);
			o->conns = (unsigned int)v;
			break;
		case OPT_DURATION:
			if (parse_num(optarg, 0.01, 3600, &o->duration) < 0)
				return bad("--duration", optarg);
			break;
		case OPT_WARMUP:
			if (parse_num(optarg, 0, 3600, &o->warmup) < 0)
				return bad("--warmup", optarg);
			break;
		case OPT_TIMEOUT:
			if (parse_num(optarg, 1, 60000, &o->timeout_ms) < 0)
				return bad("--timeout-ms", optarg);
			break;
		case OPT_PRELOAD:
			if (strcmp(optarg, "0") != 0 && strcmp(optarg, "1") != 0)
				return bad("--preload", optarg);
			o->preload = optarg[0] == '1';
			break;
		case OPT_SEED:
			if (parse_num(optarg, 0, 1e18, &v) < 0)
				return bad("--seed", optarg);
			o->seed = (uint64_t)v;
			break;
		case OPT_LINGER:
			if (parse_num(optarg, 0, 3600, &o->linger) < 0)
				return bad("--linger", optarg);
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "dpcache-loadgen: see --help\n");
			return -1;
		}
	}
	if (optind != argc)
		return bad("argument", argv[optind]);
	/* Keys are "lg:" and the index in key_len - 3 digits: each must stay distinct. */
	if (o->key_len - 3 < 10 && o->keys > (uint32_t)pow(10, o->key_len - 3))
		return bad("--keys", "more than --key-len's digits can number");
	if (o->proto == LG_UDP && o->set_ratio > 0)
		return bad("--set-ratio", "over UDP (gets only; sets preload)");
	return 0;
}

int main(int argc, char **argv)
{
	struct lg_options o;
	struct lg_workload w;
	struct lg_stats s;
	double seconds = 0;
	int sep = argc, rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep == argc) {
		if (parse_options(argc, argv, &o) < 0)
			return 2;
	} else {
		argv[sep] = argv[0]; /* getopt sees our options as their own argv */
		if (parse_options(argc - sep, argv + sep, &o) < 0)
			return 2;
		o.eal_argc = sep;
		o.eal_argv = argv;
	}
	if (o.transport == LG_MEMIF && o.eal_argc == 0) {
		fprintf(stderr,
			"dpcache-loadgen: --transport memif needs EAL options (--vdev) and --\n");
		return 2;
	}
	if (lg_workload_init(&w, &o) < 0 || lg_stats_init(&s) < 0) {
		fprintf(stderr, "dpcache-loadgen: out of memory for %u keys\n", o.keys);
		return 1;
	}
	if (o.transport == LG_MEMIF)
		rc = lg_run_memif(&o, &w, &s, &seconds);
	else
		rc = lg_run_kernel(&o, &w, &s, &seconds);
	if (rc == 0)
		rc = lg_report(&o, &s, seconds);
	/* The last line, whatever happened: a caller waiting to stop the server looks for it. */
	printf("run_status %s\n", rc == 0 ? "ok" : "failed");
	fflush(stdout);
	if (o.transport == LG_MEMIF)
		lg_memif_close(o.linger);
	lg_stats_free(&s);
	lg_workload_free(&w);
	return rc == 0 ? 0 : 1;
}
