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

#include <arpa/inet.h>
#include <errno.h>

#include <rte_malloc.h>

#include "admin/admin.h"
#include "cache_session.h"
#include "registry.h"
#include "net/flow.h"
#include "net/port.h"
#include "options.h"
#include "stats.h"
#include "worker.h"

_Static_assert(DP_CIDR_LIST_MAX <= UDP_ALLOW_MAX, "--udp-allow must fit the UDP guard");

/* 32 MB of 2 KB buffers per worker: RX rings, UDP replies, TCP send buffers. */
#define MBUFS_PER_WORKER 16384
#define MBUF_CACHE 256
#define ADMIN_POLL_MS 100

static void on_signal(int sig)
{
	(void)sig;
	worker_stop_all();
}

/* What the admin socket's commands reach. */
struct admin_ctx {
	struct stats_source stats;
	struct cache_session_config cache;
};

static void admin_stats(FILE *out, void *ctx)
{
	stats_write(out, &((struct admin_ctx *)ctx)->stats);
}

static void *admin_mc_open(void *ctx)
{
	return cache_session_open(&((struct admin_ctx *)ctx)->cache);
}

static int admin_mc_input(void *ctx, void *session, const char *buf, size_t len, FILE *out)
{
	(void)ctx;
	return cache_session_input(session, buf, len, out);
}

static void admin_mc_close(void *ctx, void *session)
{
	(void)ctx;
	cache_session_close(session);
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

static void store_log(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "dpcached: store: %s\n", line);
}

/* One partition per worker, each on its worker's NUMA node. */
static int cache_setup(const struct dp_options *opts, unsigned int nb_workers, struct store **out,
		       char *err, size_t errlen)
{
	struct store_config cfg = {
		.limit_bytes = (uint64_t)opts->memory_limit << 20,
		.item_size_max = opts->item_size_max,
		.partitions = nb_workers,
		.threads = nb_workers + 1, /* the workers, then the main lcore */
		.numa_bind = rte_socket_count() > 1,
		.memory_file = opts->memory_file[0] != '\0' ? opts->memory_file : NULL,
		.log = store_log,
	};
	unsigned int lcore, i = 0;
	int rc;

	if (nb_workers > STORE_PARTITIONS_MAX) {
		snprintf(err, errlen, "%u workers: the store has at most %d partitions", nb_workers,
			 STORE_PARTITIONS_MAX);
		return -EINVAL;
	}
	RTE_LCORE_FOREACH_WORKER(lcore)
		cfg.numa_node[i++] = (int)rte_lcore_to_socket_id(lcore);
	rc = store_setup(&cfg, out);
	if (rc < 0)
		snprintf(err, errlen, "store: %s (check -m, -I and --memory-file)", strerror(-rc));
	else if (store_reattached(*out))
		printf("dpcached: re-attached to the cache in %s\n", opts->memory_file);
	return rc;
}

/* What `stats settings` says beyond the store: filled once from the options. */
static struct process_settings process_settings;

/* A worker's UDP service, allocated on its own NUMA node. */
static int worker_udp_setup(struct worker *w, unsigned int lcore, unsigned int tid,
			    const struct dp_options *opts, struct rte_mempool *pool)
{
	struct proto_config pcfg = {.item_size_max = opts->item_size_max,
				    .udp_allow = opts->udp_writes ? ~UINT64_C(0) : 0};
	int socket = (int)rte_lcore_to_socket_id(lcore);

	w->udp_svc = rte_zmalloc_socket("udp_service", sizeof(*w->udp_svc), RTE_CACHE_LINE_SIZE,
					socket);
	if (w->udp_svc == NULL)
		return -ENOMEM;
	if (udp_service_setup(w->udp_svc, w->store, tid, &pcfg, pool, socket) < 0)
		return -ENOMEM;
	w->udp_svc->pw.settings = &process_settings;
	w->udp_svc->reply_ratio = opts->udp_reply_ratio;
	return 0;
}

/* A worker's TCP service: its share of -c connections, on its NUMA node. */
static int worker_tcp_setup(struct worker *w, unsigned int lcore, unsigned int tid,
			    const struct dp_options *opts, const struct port_info *port,
			    struct rte_mempool *pool)
{
	unsigned int nb_workers = rte_lcore_count() - 1;
	struct tcp_config cfg;
	int socket = (int)rte_lcore_to_socket_id(lcore);

	tcp_config_defaults(&cfg);
	cfg.local_ip = opts->ip.addr;
	cfg.local_mac = port->mac;
	cfg.port = (uint16_t)opts->tcp_port;
	cfg.max_conns = RTE_MAX(1u, (opts->max_conns + nb_workers - 1) / nb_workers);
	cfg.tx_cksum_offload = port->tx_cksum_offload;
	/* Without multi-segment TX, every segment is one mbuf with its payload copied. */
	cfg.tx_copy_payload = !port->tx_multi_seg;
	cfg.socket_id = socket;
	w->tcp_svc = rte_zmalloc_socket("tcp_service", sizeof(*w->tcp_svc), RTE_CACHE_LINE_SIZE,
					socket);
	if (w->tcp_svc == NULL)
		return -ENOMEM;
	if (tcp_service_setup(w->tcp_svc, &cfg, w->store, tid, opts->item_size_max, pool) < 0)
		return -ENOMEM;
	w->tcp_svc->pw.settings = &process_settings;
	w->tcp_svc->udp_port = (uint16_t)opts->udp_port; /* stats conns lists it */
	return 0;
}

static void workers_teardown(void)
{
	unsigned int lcore;

	worker_steering_teardown();
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = &workers[lcore];

		if (w->udp_svc != NULL) {
			udp_service_teardown(w->udp_svc);
			rte_free(w->udp_svc);
			w->udp_svc = NULL;
		}
		if (w->tcp_svc != NULL) {
			if (w->tcp_svc->conns != NULL)
				tcp_service_teardown(w->tcp_svc);
			rte_free(w->tcp_svc);
			w->tcp_svc = NULL;
		}
	}
}

static int run(const struct dp_options *opts, struct port_info *port, struct rte_mempool *pool,
	       struct store *store, char *err, size_t errlen)
{
	/* Static: the telemetry thread reads it until the EAL is cleaned up. */
	static struct admin_ctx actx;
	struct admin_commands cmds = {admin_stats,    admin_shutdown, admin_mc_open,
				      admin_mc_input, admin_mc_close, &actx};
	struct net_iface iface = {.mac = port->mac, .ip = opts->ip.addr,
				  .netmask = opts->ip.netmask};
	struct udp_config udp = {.port = opts->udp_port};
	const char *udp_steering = flow_steering_name(FLOW_STEER_OFF);
	struct registry *registry = NULL;
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
	if (opts->udp_port_base != 0) {
		char why[160];
		enum flow_steering steer;

		udp.port_base = (uint16_t)opts->udp_port_base;
		udp.nb_part_ports = (uint16_t)(rte_lcore_count() - 1);
		steer = flow_steer_partitions(port->port_id, opts->ip.addr, udp.port_base,
					      udp.nb_part_ports, why, sizeof(why));
		if (steer == FLOW_STEER_NONE)
			fprintf(stderr,
				"dpcached: --udp-port-base: no steering to owner cores (%s); "
				"the worker that receives a request serves it (lock-free reads)\n",
				why);
		udp_steering = flow_steering_name(steer);
	}
	actx.stats = (struct stats_source){.opts = opts, .port = port, .pool = pool,
					   .store = store, .started = time(NULL),
					   .udp_steering = udp_steering};
	/* The main lcore is the store's last thread: after the workers'. */
	actx.cache = (struct cache_session_config){.store = store, .tid = rte_lcore_count() - 1,
						   .item_size_max = opts->item_size_max};
	if (stats_telemetry_register(&actx.stats) < 0)
		fprintf(stderr, "dpcached: telemetry: /dpcache/stats not registered\n");
	process_settings = (struct process_settings){.tcp_port = opts->tcp_port,
						     .udp_port = opts->udp_port,
						     .max_conns = opts->max_conns,
						     .threads = rte_lcore_count() - 1};
	/* Every worker is fully set up before the first one starts polling. */
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = &workers[lcore];

		w->iface = iface;
		w->udp = udp;
		w->store = store;
		w->partition = queue;
		w->tx_cksum_offload = port->tx_cksum_offload;
		w->port_id = port->port_id;
		w->queue_id = queue;
		w->idle_sleep_us = opts->idle_sleep;
		w->rx_intr = opts->idle_sleep != 0 && port->rx_intr;
		w->tsc_per_us = RTE_MAX(rte_get_tsc_hz() / 1000000, (uint64_t)1);
		if (opts->udp_port != 0 && worker_udp_setup(w, lcore, queue, opts, pool) < 0) {
			snprintf(err, errlen, "worker %u: cannot set up the UDP service", lcore);
			return -ENOMEM;
		}
		if (opts->tcp_port != 0 && worker_tcp_setup(w, lcore, queue, opts, port, pool) < 0) {
			snprintf(err, errlen, "worker %u: cannot set up the TCP service (-c %u)",
				 lcore, opts->max_conns);
			return -ENOMEM;
		}
		queue++;
	}
	if (port->steering == PORT_STEER_SOFTWARE) {
		if (worker_steering_setup(port->nb_rx_queues, port->rx_pollers) < 0) {
			snprintf(err, errlen, "cannot set up software steering (an rte_ring per worker)");
			return -ENOMEM;
		}
		fprintf(stderr,
			"dpcached: %u of %u workers poll the RX queues: TCP connections spread "
			"in software\n",
			port->rx_pollers, rte_lcore_count() - 1);
	}
	rc = admin_setup(&admin, opts->admin_socket, &cmds, err, errlen);
	if (rc < 0)
		return rc;
	if (opts->zk[0] != '\0') {
		char name[64], data[160], ip[INET_ADDRSTRLEN];
		struct in_addr in = {.s_addr = opts->ip.addr};

		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		snprintf(name, sizeof(name), "%s:%u", ip, opts->tcp_port);
		snprintf(data, sizeof(data), "{\"udp_port\":%u,\"admin\":\"%s\"}", opts->udp_port,
			 opts->admin_socket);
		registry = registry_start(opts->zk, opts->zk_root, name, data, err, errlen);
		if (registry == NULL) {
			admin_teardown(&admin);
			return -EINVAL;
		}
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		workers[lcore].active = 1;
		rte_eal_remote_launch(worker_main, &workers[lcore], lcore);
	}
	printf("dpcached: ready: port %u (%s), %u workers, admin socket %s\n", port->port_id,
	       port->driver, queue, opts->admin_socket);
	fflush(stdout);
	while (!worker_stopping()) {
		admin_poll(&admin, ADMIN_POLL_MS);
		registry_poll(registry);
	}
	registry_stop(registry); /* the node goes first: ctld stops sending here */
	rte_eal_mp_wait_lcore();
	admin_teardown(&admin);
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_options opts;
	struct port_info port;
	struct rte_mempool *pool;
	struct store *store;
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
	if (opts.udp_port_base != 0 &&
	    (opts.udp_port_base + nb_workers - 1 > 65535 ||
	     (opts.udp_port != 0 && opts.udp_port >= opts.udp_port_base &&
	      opts.udp_port < opts.udp_port_base + nb_workers))) {
		snprintf(err, sizeof(err),
			 "--udp-port-base: ports %u..%u (one per worker) %s", opts.udp_port_base,
			 opts.udp_port_base + nb_workers - 1,
			 opts.udp_port_base + nb_workers - 1 > 65535 ? "do not fit below 65536"
								      : "include the -U port");
		die(err);
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
	if (port_setup_flags(opts.port, nb_workers, (uint16_t)opts.rx_queues, pool,
			     opts.mac.set ? &opts.mac.addr : NULL,
			     opts.idle_sleep != 0 ? PORT_RX_INTR : 0, &port, err, sizeof(err)) < 0) {
		die(err);
		goto out_port;
	}
	if (cache_setup(&opts, nb_workers, &store, err, sizeof(err)) < 0) {
		die(err);
		goto out_port;
	}
	if (run(&opts, &port, pool, store, err, sizeof(err)) < 0)
		die(err);
	else
		rc = EXIT_SUCCESS;
	worker_stop_all();
	rte_eal_mp_wait_lcore();
	workers_teardown();
	/* A clean stop marks the memory file re-attachable (hot restart). */
	store_teardown(store, rc == EXIT_SUCCESS);
out_port:
	flow_unsteer(opts.port);
	port_teardown(opts.port);
	rte_mempool_free(pool);
out_eal:
	rte_eal_cleanup();
	return rc;
}
