/*
 * dpcachectl: the operator's CLI. Today it speaks to dpcached's admin socket;
 * the control plane's verbs join it when dpcache-ctld lands.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpcache/admin_client.h"

#define EXIT_USAGE 2

static const char *const admin_verbs[] = {"stats", "version", "shutdown", NULL};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dpcachectl [--socket PATH] [--timeout MS] COMMAND\n\n"
		"commands for dpcached's admin socket:\n"
		"  stats      server, port and per-worker counters (STAT name value)\n"
		"  version    the server's version\n"
		"  shutdown   stop the server cleanly (ports stopped, memory released)\n\n"
		"options:\n"
		"  --socket PATH   admin socket [%s]\n"
		"  --timeout MS    give up after MS milliseconds without an answer [5000]\n",
		DP_ADMIN_DEFAULT_SOCKET);
}

static int is_admin_verb(const char *verb)
{
	for (const char *const *v = admin_verbs; *v != NULL; v++)
		if (strcmp(*v, verb) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = DP_ADMIN_DEFAULT_SOCKET;
	long timeout_ms = 5000;
	char err[256], *end;
	int c, fd, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 't':
			timeout_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || timeout_ms <= 0 || timeout_ms > 3600000) {
				fprintf(stderr, "dpcachectl: --timeout: '%s' is not 1..3600000 ms\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "dpcachectl: unknown option or missing value: '%s' (see --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "dpcachectl: %s (see --help)\n",
			optind == argc ? "no command given" : "one command at a time");
		return EXIT_USAGE;
	}
	if (!is_admin_verb(argv[optind])) {
		fprintf(stderr, "dpcachectl: unknown command '%s' (see --help)\n", argv[optind]);
		return EXIT_USAGE;
	}

	fd = dp_admin_connect(path, (int)timeout_ms, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "dpcachectl: %s\n", err);
		return EXIT_FAILURE;
	}
	rc = dp_admin_command(fd, argv[optind], stdout, err, sizeof(err));
	close(fd);
	if (rc < 0)
		fprintf(stderr, "dpcachectl: %s: %s\n", path, err);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
