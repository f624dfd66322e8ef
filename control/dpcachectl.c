/*
 * dpcachectl: the operator's CLI. Admin verbs (stats, version, shutdown) go to
 * one dpcached's admin socket; control plane verbs go to dpcache-ctld's
 * control socket (docs/CONTROL.md), whose JSON replies are shown as text
 * (or as they are, with --json).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "dpcache/admin_client.h"
#include "dpcache/config.h"

#define EXIT_USAGE  2
#define REPLY_MAX   (64 << 20)
#define REQUEST_MAX 4095

struct ctl {
	const char *admin_path;
	const char *ctl_path;
	long timeout_ms;
	int json; /* print replies as they are */
};

static const char *const admin_verbs[] = {"stats", "version", "shutdown", NULL};
static const char *const ctl_objects[] = {"region", "cluster", "pool",	"server",
					  "status", "config",  "route", NULL};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dpcachectl [options] COMMAND [ARGS]\n\n"
		"commands for dpcached's admin socket (--socket):\n"
		"  stats      server, port and per-worker counters (STAT name value)\n"
		"  version    the server's version\n"
		"  shutdown   stop the server cleanly (ports stopped, memory released)\n\n"
		"commands for dpcache-ctld's control socket (--ctl-socket):\n"
		"  region add NAME | region remove NAME | region list\n"
		"  cluster add NAME region=R | cluster remove NAME | cluster list\n"
		"  pool add NAME cluster=C [kind=wildcard|named|replicated|gutter] [prefix=P]\n"
		"           [replicas=N] [ttl=S]\n"
		"  pool add NAME region=R kind=regional prefix=P\n"
		"  pool remove NAME | pool list\n"
		"  server add HOST:PORT pool=P [weight=W] [admin=PATH]\n"
		"  server remove|drain|undrain HOST:PORT | server list\n"
		"  status         role, version, health and TKO of every server, and its\n"
		"                 stats (from its admin socket, or memcache `stats`)\n"
		"  config get     the routing config (JSON)\n"
		"  config watch   every new version of it, one line each, until interrupted\n"
		"  route [cluster=C] KEY...   where keys go by the current config:\n"
		"                 KEY POOL SERVER [gutter] [owners=A,B (replicated)]\n\n"
		"options:\n"
		"  --socket PATH       admin socket [%s]\n"
		"  --ctl-socket PATH   control socket [%s]\n"
		"  --timeout MS        give up after MS milliseconds without an answer [5000]\n"
		"  --json              print the control socket's JSON replies as they are\n",
		DP_ADMIN_DEFAULT_SOCKET, CTL_DEFAULT_SOCKET);
}

static int in_list(const char *const *list, const char *word)
{
	for (const char *const *v = list; *v != NULL; v++)
		if (strcmp(*v, word) == 0)
			return 1;
	return 0;
}

static int admin_verb(const struct ctl *ctl, const char *verb)
{
	char err[256];
	int fd, rc;

	fd = dp_admin_connect(ctl->admin_path, (int)ctl->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "dpcachectl: %s\n", err);
		return EXIT_FAILURE;
	}
	rc = dp_admin_command(fd, verb, stdout, err, sizeof(err));
	close(fd);
	if (rc < 0)
		fprintf(stderr, "dpcachectl: %s: %s\n", ctl->admin_path, err);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* One reply line (without the newline), malloc'd; NULL with @p err on failure. */
static char *read_line(int fd, char *err, size_t errlen)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *p = cap < REPLY_MAX ? realloc(buf, cap * 2) : NULL;

			if (p == NULL) {
				snprintf(err, errlen, "reply longer than %d bytes", REPLY_MAX);
				break;
			}
			buf = p;
			cap *= 2;
		}
		n = recv(fd, buf + len, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s",
				 n == 0		   ? "ctld closed the connection"
				 : errno == EAGAIN ? "no answer in time (--timeout)"
						   : strerror(errno));
			break;
		}
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return buf;
		}
		len++;
	}
	free(buf);
	return NULL;
}

/* Send one request; returns the parsed reply or NULL (message printed). */
static json_t *ctl_request(const struct ctl *ctl, int fd, const char *line)
{
	char err[256], *text;
	json_error_t jerr;
	json_t *reply;
	size_t len = strlen(line);

	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "dpcachectl: %s: send: %s\n", ctl->ctl_path, strerror(errno));
		return NULL;
	}
	text = read_line(fd, err, sizeof(err));
	if (text == NULL) {
		fprintf(stderr, "dpcachectl: %s: %s\n", ctl->ctl_path, err);
		return NULL;
	}
	reply = json_loads(text, 0, &jerr);
	if (reply == NULL)
		fprintf(stderr, "dpcachectl: %s: reply is not JSON: %s\n", ctl->ctl_path,
			jerr.text);
	else if (ctl->json)
		printf("%s\n", text);
	free(text);
	return reply;
}

/* An {"ok":false} reply: print its error; returns 1 if it was one. */
static int reply_failed(json_t *reply)
{
	if (json_is_true(json_object_get(reply, "ok")))
		return 0;
	fprintf(stderr, "dpcachectl: %s\n",
		json_string_value(json_object_get(reply, "error")) != NULL
		    ? json_string_value(json_object_get(reply, "error"))
		    : "ctld refused the command");
	return 1;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void print_list(const char *object, json_t *reply)
{
	json_t *items = json_object_get(reply, "items"), *it;
	size_t i;

	json_array_foreach(items, i, it)
	{
		if (strcmp(object, "region") == 0)
			printf("%s\n", str(it, "name"));
		else if (strcmp(object, "cluster") == 0)
			printf("%-20s region=%s\n", str(it, "name"), str(it, "region"));
		else if (strcmp(object, "pool") == 0)
			printf("%-20s kind=%s %s%s prefix=%s replicas=%" JSON_INTEGER_FORMAT
			       " ttl=%" JSON_INTEGER_FORMAT " servers=%" JSON_INTEGER_FORMAT "\n",
			       str(it, "name"), str(it, "kind"),
			       str(it, "cluster")[0] ? "cluster=" : "region=",
			       str(it, "cluster")[0] ? str(it, "cluster") : str(it, "region"),
			       str(it, "prefix")[0] ? str(it, "prefix") : "-",
			       json_integer_value(json_object_get(it, "replicas")),
			       json_integer_value(json_object_get(it, "ttl")),
			       json_integer_value(json_object_get(it, "servers")));
		else
			printf("%-22s pool=%s weight=%" JSON_INTEGER_FORMAT " state=%s%s%s\n",
			       str(it, "addr"), str(it, "pool"),
			       json_integer_value(json_object_get(it, "weight")),
			       json_is_true(json_object_get(it, "tko"))	       ? "tko"
			       : json_is_true(json_object_get(it, "draining")) ? "draining"
									       : "up",
			       str(it, "admin")[0] ? " admin=" : "", str(it, "admin"));
	}
}

/*
 * A server's own counters: from its dpcached admin socket if it has one, else
 * memcache `stats` over TCP. Fills @p out with "name=value" pairs.
 */
static void server_stats(const struct ctl *ctl, json_t *srv, char *out, size_t outlen)
{
	static const char *const wanted[] = {
	    "uptime",		"curr_items", "get_hits", "get_misses",
	    "curr_connections", "rx_packets", "workers",  NULL};
	char err[256], *buf = NULL, line[512];
	size_t buflen = 0, used = 0;
	int timeout = ctl->timeout_ms < 1000 ? (int)ctl->timeout_ms : 1000;
	FILE *mem = open_memstream(&buf, &buflen);
	int fd = -1;

	out[0] = '\0';
	if (mem == NULL)
		return;
	if (str(srv, "admin")[0] != '\0') {
		fd = dp_admin_connect(str(srv, "admin"), timeout, err, sizeof(err));
		if (fd >= 0)
			dp_admin_command(fd, "stats", mem, err, sizeof(err));
	} else {
		char host[CFG_ADDR_MAX];
		const char *addr = str(srv, "addr"), *colon = strrchr(addr, ':');
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = (timeout % 1000) * 1000};

		if (colon != NULL && (size_t)(colon - addr) < sizeof(host)) {
			snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
			if (getaddrinfo(host, colon + 1, &hints, &ai) == 0) {
				fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
				if (fd >= 0) {
					setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
					setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
					if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
						close(fd);
						fd = -1;
					}
				}
				freeaddrinfo(ai);
			}
		}
		if (fd >= 0)
			dp_admin_command(fd, "stats", mem, err, sizeof(err)); /* same STAT/END */
	}
	if (fd >= 0)
		close(fd);
	fclose(mem);
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		char name[128], value[256];

		if (sscanf(l, "STAT %127s %255s", name, value) != 2 || !in_list(wanted, name))
			continue;
		snprintf(line, sizeof(line), "%s%s=%s", used ? " " : "", name, value);
		if (used + strlen(line) < outlen) {
			strcpy(out + used, line);
			used += strlen(line);
		}
	}
	if (used == 0)
		snprintf(out, outlen, "stats unavailable");
	free(buf);
}

static void print_status(const struct ctl *ctl, json_t *reply)
{
	json_t *servers = json_object_get(reply, "servers"), *s, *h;
	const char *key;
	size_t i;

	printf("%s %s\n", str(reply, "role"), str(reply, "id"));
	printf("store: %s\n", str(reply, "store"));
	printf("version: %" JSON_INTEGER_FORMAT "  uptime: %" JSON_INTEGER_FORMAT " s\n",
	       json_integer_value(json_object_get(reply, "version")),
	       json_integer_value(json_object_get(reply, "uptime_s")));
	printf("health:");
	json_object_foreach(json_object_get(reply, "health"), key, h)
	    printf(" %s=%" JSON_INTEGER_FORMAT, key, json_integer_value(h));
	printf("\n");
	json_array_foreach(json_object_get(reply, "clusters"), i, s)
	{
		printf("cluster %s (region %s): %" JSON_INTEGER_FORMAT
		       " servers, %" JSON_INTEGER_FORMAT
		       " TKO, gutter %s with %" JSON_INTEGER_FORMAT "%s%s\n",
		       str(s, "name"), str(s, "region"),
		       json_integer_value(json_object_get(s, "servers")),
		       json_integer_value(json_object_get(s, "tko")),
		       str(s, "gutter")[0] ? str(s, "gutter") : "-",
		       json_integer_value(json_object_get(s, "gutter_servers")),
		       str(s, "advice")[0] ? " -- " : "", str(s, "advice"));
	}
	json_array_foreach(servers, i, s)
	{
		char stats[512];

		server_stats(ctl, s, stats, sizeof(stats));
		printf("%-22s pool=%s state=%s", str(s, "addr"), str(s, "pool"), str(s, "state"));
		if (json_object_get(s, "fails") != NULL)
			printf(" fails=%" JSON_INTEGER_FORMAT " rtt_ms=%" JSON_INTEGER_FORMAT
			       "%s%s",
			       json_integer_value(json_object_get(s, "fails")),
			       json_integer_value(json_object_get(s, "last_rtt_ms")),
			       str(s, "last_error")[0] ? " error=" : "", str(s, "last_error"));
		printf(" | %s\n", stats);
	}
}

static int route(const struct ctl *ctl, json_t *reply, int argc, char **argv)
{
	const char *cluster = NULL;
	struct cfg c;
	char err[256], *doc;
	int rc = EXIT_SUCCESS;

	doc = json_dumps(json_object_get(reply, "config"), JSON_COMPACT);
	if (doc == NULL || cfg_from_json(&c, doc, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpcachectl: %s: bad config: %s\n", ctl->ctl_path,
			doc ? err : "none");
		free(doc);
		return EXIT_FAILURE;
	}
	free(doc);
	for (int i = 0; i < argc; i++) {
		struct cfg_route r;
		int e;

		if (strncmp(argv[i], "cluster=", 8) == 0) {
			cluster = argv[i] + 8;
			continue;
		}
		e = cfg_route_key(&c, cluster, argv[i], strlen(argv[i]), &r);

		if (e < 0) {
			fprintf(stderr, "dpcachectl: no route for '%s': %s\n", argv[i],
				e == -EHOSTUNREACH ? "its server is down and so is the gutter"
				: cluster != NULL || c.n_clusters == 1
				    ? "no pool for it, or an empty pool"
				    : "name the client's cluster=C");
			rc = EXIT_FAILURE;
			continue;
		}
		printf("%s %s %s%s", argv[i], r.pool->name, r.read->addr,
		       r.via_gutter ? " gutter" : "");
		for (size_t k = 0; r.n > 1 && k < r.n; k++) /* replicated: writes go to all */
			printf("%s%s", k == 0 ? " owners=" : ",", r.owners[k]->addr);
		printf("\n");
	}
	cfg_free(&c);
	return rc;
}

static int watch(const struct ctl *ctl, int fd)
{
	struct timeval none = {0};
	char err[256], *text;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none)); /* wait forever */
	while ((text = read_line(fd, err, sizeof(err))) != NULL) {
		json_t *reply = json_loads(text, 0, NULL);
		json_t *config = json_object_get(reply, "config");
		char *doc = config != NULL ? json_dumps(config, JSON_COMPACT) : NULL;

		printf("%s\n", ctl->json || doc == NULL ? text : doc);
		fflush(stdout); /* one version, one line, now: readers may be scripts */
		free(doc);
		json_decref(reply);
		free(text);
	}
	fprintf(stderr, "dpcachectl: %s: %s\n", ctl->ctl_path, err);
	return EXIT_FAILURE;
}

static int ctl_verb(const struct ctl *ctl, int argc, char **argv)
{
	char err[256], line[REQUEST_MAX + 1];
	const char *object = argv[0];
	size_t len = 0;
	json_t *reply;
	int fd, rc = EXIT_SUCCESS, route_verb = strcmp(object, "route") == 0;

	if (route_verb) {
		snprintf(line, sizeof(line), "config get");
	} else {
		for (int i = 0; i < argc; i++) {
			int n =
			    snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);

			if (n < 0 || (size_t)n >= sizeof(line) - len) {
				fprintf(stderr, "dpcachectl: command longer than %d bytes\n",
					REQUEST_MAX);
				return EXIT_USAGE;
			}
			if (strpbrk(argv[i], " \t\r\n") != NULL) {
				fprintf(stderr, "dpcachectl: '%s': arguments hold no spaces\n",
					argv[i]);
				return EXIT_USAGE;
			}
			len += (size_t)n;
		}
	}
	fd = dp_admin_connect(ctl->ctl_path, (int)ctl->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "dpcachectl: %s\n", err);
		return EXIT_FAILURE;
	}
	reply = ctl_request(ctl, fd, line);
	if (reply == NULL || reply_failed(reply)) {
		rc = EXIT_FAILURE;
	} else if (route_verb) {
		rc = route(ctl, reply, argc - 1, argv + 1);
	} else if (strcmp(object, "config") == 0 && strcmp(argv[1], "watch") == 0) {
		if (!ctl->json) {
			char *doc = json_dumps(json_object_get(reply, "config"), JSON_COMPACT);

			printf("%s\n", doc);
			free(doc);
		}
		fflush(stdout);
		rc = watch(ctl, fd);
	} else if (!ctl->json) {
		if (strcmp(object, "config") == 0) {
			char *doc = json_dumps(json_object_get(reply, "config"),
					       JSON_INDENT(2) | JSON_PRESERVE_ORDER);

			printf("%s\n", doc);
			free(doc);
		} else if (strcmp(object, "status") == 0) {
			print_status(ctl, reply);
		} else if (argc > 1 && strcmp(argv[1], "list") == 0) {
			print_list(object, reply);
		} else {
			printf("OK version %" JSON_INTEGER_FORMAT "\n",
			       json_integer_value(json_object_get(reply, "version")));
		}
	}
	json_decref(reply);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},  {"ctl-socket", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	struct ctl ctl = {DP_ADMIN_DEFAULT_SOCKET, CTL_DEFAULT_SOCKET, 5000, 0};
	const char *env = getenv("DPCACHE_CTL_SOCKET");
	char *end;
	int c;

	if (env != NULL && env[0] != '\0')
		ctl.ctl_path = env;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:c:t:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl.admin_path = optarg;
			break;
		case 'c':
			ctl.ctl_path = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 't':
			ctl.timeout_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || ctl.timeout_ms <= 0 || ctl.timeout_ms > 3600000) {
				fprintf(stderr,
					"dpcachectl: --timeout: '%s' is not 1..3600000 ms\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr,
				"dpcachectl: unknown option or missing value: '%s' (see --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "dpcachectl: no command given (see --help)\n");
		return EXIT_USAGE;
	}
	if (in_list(admin_verbs, argv[optind])) {
		if (optind != argc - 1) {
			fprintf(stderr, "dpcachectl: one command at a time (see --help)\n");
			return EXIT_USAGE;
		}
		return admin_verb(&ctl, argv[optind]);
	}
	if (!in_list(ctl_objects, argv[optind])) {
		fprintf(stderr, "dpcachectl: unknown command '%s' (see --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "status") != 0 && strcmp(argv[optind], "route") != 0 &&
	    optind == argc - 1) {
		fprintf(stderr, "dpcachectl: '%s' needs a verb (see --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "route") == 0 && optind == argc - 1) {
		fprintf(stderr, "dpcachectl: route needs at least one KEY\n");
		return EXIT_USAGE;
	}
	return ctl_verb(&ctl, argc - optind, argv + optind);
}
