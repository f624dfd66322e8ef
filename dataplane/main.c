/*
 * dpcached: EAL arguments before `--`, dpcached's own options after it.
 * Our options are parsed before the EAL starts, so a bad flag fails fast with
 * one line; then the port comes up, workers start on every lcore but the main
 * one, and the main lcore serves the admin socket until told to stop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "admin/admin.h"
#include "net/port.h"
#include "options.h"
#include "stats.h"
#include "worker.h"

_Static_assert(DP_CIDR_LIST_MAX <= UDP_ALLOW_MAX, "--udp-allow must fit the UDP guard");

#define MBUFS_PER_WORKER 4096
#define MBUF_CACHE 256
#define ADMIN_POLL_MS 100

static void on_signal(int sig)
{
	(void)sig;
	worker_stop_all();
}

static void admin_stats(FILE *out, void *ctx)
{
	stats_write(out, ctx);
}

static void admin_shutdown(void *ctx)
{
	(void)ctx;
	worker_stop_all();
}

static int die(const char *msg)
{
	fflush(stdout); /* whatever the EAL printed comes before our one line */
	fprintf(stderr, "dpcached: %s\n", msg);
	return EXIT_FAILURE;
}

/*
 * The EAL runs in memory unless told otherwise: no hugepage files or shared
 * config that a crash could leave behind. dpcached has no secondary
 * processes; the cache that must outlive a restart lives in its own file.
 * Returns the flag to add to the EAL's arguments, or NULL if the user chose.
 */
static char *eal_memory_flag(int argc, char **argv)
{
	static const char *const chosen[] = {"--in-memory", "--huge-unlink", "--no-shconf", NULL};
	static char in_memory[] = "--in-memory", no_shconf[] = "--no-shconf";
	int no_huge = 0;

	for (int i = 1; i < argc; i++) {
		for (const char *const *f = chosen; *f != NULL; f++)
			if (strncmp(argv[i], *f, strlen(*f)) == 0)
				return NULL;
		no_huge |= strcmp(argv[i], "--no-huge") == 0;
	}
	/* --no-huge implies legacy memory, which --in-memory refuses. */
	return no_huge ? no_shconf : in_memory;
}

static char eal_runtime_dir[PATH_MAX];

/*
 * Remove the EAL's runtime directory once it is empty, as a clean exit leaves
 * it. Registered before rte_eal_init, so it runs after the telemetry's own
 * exit handler has removed its socket from that directory.
 */
static void eal_runtime_dir_remove(void)
{
	if (eal_runtime_dir[0] != '\0')
		rmdir(eal_runtime_dir);
}

/* Index of the "--" that separates EAL arguments from ours, or argc. */
static int find_separator(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return argc;
}

static int run(const struct dp_options *opts, struct port_info *port, struct rte_mempool *pool,
	       char *err, size_t errlen)
{
	/* Static: the telemetry thread reads it until the EAL is cleaned up. */
	static struct stats_source stats;
	struct admin_commands cmds = {admin_stats, admin_shutdown, &stats};
	struct net_iface iface = {.mac = port->mac, .ip = opts->ip.addr,
				  .netmask = opts->ip.netmask};
	struct udp_config udp = {.port = opts->udp_port};
	struct admin admin;
	unsigned int lcore;
	uint16_t queue = 0;
	int rc;

	/* The amplification guard: by default, only our own subnet gets UDP answers. */
	if (opts->udp_allow.n == 0) {
		udp.allow.n = 1;
		udp.allow.net[0].addr = opts->ip.addr & opts->ip.netmask;
		udp.allow.net[0].mask = opts->ip.netmask;
	}
	for (unsigned int i = 0; i < opts->udp_allow.n; i++) {
		udp.allow.net[i].addr = opts->udp_allow.e[i].addr;
		udp.allow.net[i].mask = opts->udp_allow.e[i].netmask;
		udp.allow.n = i + 1;
	}
	stats = (struct stats_source){.opts = opts, .port = port, .pool = pool,
				      .started = time(NULL)};
	if (stats_telemetry_register(&stats) < 0)
		fprintf(stderr, "dpcached: telemetry: /dpcache/stats not registered\n");
	rc = admin_setup(&admin, opts->admin_socket, &cmds, err, errlen);
	if (rc < 0)
		return rc;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = &workers[lcore];

		w->iface = iface;
		w->udp = udp;
		w->port_id = port->port_id;
		w->queue_id = queue++;
		w->idle_sleep_us = opts->idle_sleep;
		w->active = 1;
		rte_eal_remote_launch(worker_main, w, lcore);
	}
	printf("dpcached: ready: port %u (%s), %u workers, admin socket %s\n", port->port_id,
	       port->driver, queue, opts->admin_socket);
	fflush(stdout);
	while (!worker_stopping())
		admin_poll(&admin, ADMIN_POLL_MS);
	rte_eal_mp_wait_lcore();
	admin_teardown(&admin);
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_options opts;
	struct port_info port;
	struct rte_mempool *pool;
	char err[256];
	int sep = find_separator(argc, argv);
	char *eal_argv[argc + 2];
	int eal_argc = 0;
	char **our_argv = argv;
	int our_argc = 1;
	unsigned int nb_workers;
	int rc;

	/* Our options follow "--"; it stands in as their program name for getopt. */
	if (sep < argc) {
		our_argv = argv + sep;
		our_argc = argc - sep;
		our_argv[0] = argv[0];
	}
	switch (dp_options_parse(&opts, our_argc, our_argv, err, sizeof(err))) {
	case DP_OPTIONS_EXIT_OK:
		return EXIT_SUCCESS;
	case DP_OPTIONS_ERROR:
		return die(err);
	case DP_OPTIONS_OK:
		break;
	}

	eal_argv[eal_argc++] = argv[0];
	eal_argv[eal_argc] = eal_memory_flag(sep, argv);
	if (eal_argv[eal_argc] != NULL)
		eal_argc++;
	for (int i = 1; i < sep; i++)
		eal_argv[eal_argc++] = argv[i];
	eal_argv[eal_argc] = NULL;

	atexit(eal_runtime_dir_remove);
	rc = rte_eal_init(eal_argc, eal_argv);
	if (rc < 0) {
		snprintf(err, sizeof(err), "EAL initialisation failed: %s (check the EAL options)",
			 rte_strerror(rte_errno));
		return die(err);
	}
	snprintf(eal_runtime_dir, sizeof(eal_runtime_dir), "%s", rte_eal_get_runtime_dir());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	rc = EXIT_FAILURE;
	nb_workers = rte_lcore_count() - 1;
	if (nb_workers == 0) {
		die("no worker lcores: give the EAL at least two (e.g. -l 0,1); the main lcore "
		    "does not serve requests");
		goto out_eal;
	}
	pool = rte_pktmbuf_pool_create("dp_mbuf", nb_workers * MBUFS_PER_WORKER, MBUF_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL) {
		snprintf(err, sizeof(err), "cannot allocate %u mbufs: %s (reserve hugepages?)",
			 nb_workers * MBUFS_PER_WORKER, rte_strerror(rte_errno));
		die(err);
		goto out_eal;
	}
	if (port_setup(opts.port, nb_workers, pool, opts.mac.set ? &opts.mac.addr : NULL, &port,
		       err, sizeof(err)) < 0) {
		die(err);
		goto out_port;
	}
	if (run(&opts, &port, pool, err, sizeof(err)) < 0)
		die(err);
	else
		rc = EXIT_SUCCESS;
	worker_stop_all();
	rte_eal_mp_wait_lcore();
out_port:
	port_teardown(opts.port);
	rte_mempool_free(pool);
out_eal:
	rte_eal_cleanup();
	return rc;
}
