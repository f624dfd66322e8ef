#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "worker.h"

#define STAT_U64(out, name, v) fprintf(out, "STAT %s %" PRIu64 "\r\n", name, (uint64_t)(v))

/* busy (no --idle-sleep), interrupt (every worker waits on its RX queue) or sleep. */
static const char *stats_idle_mode(const struct stats_source *src)
{
	unsigned int lcore;

	if (src->opts->idle_sleep == 0)
		return "busy";
	RTE_LCORE_FOREACH_WORKER(lcore)
		if (!workers[lcore].rx_intr)
			return "sleep";
	return "interrupt";
}

static void stats_server(FILE *out, const struct stats_source *src)
{
	char ip[INET_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE];
	struct in_addr in = {.s_addr = src->opts->ip.addr};
	time_t now = time(NULL);

	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	rte_ether_format_addr(mac, sizeof(mac), &src->port->mac);
	STAT_U64(out, "pid", getpid());
	STAT_U64(out, "uptime", now - src->started);
	STAT_U64(out, "time", now);
	fprintf(out, "STAT version %s\r\n", DPCACHE_VERSION);
	fprintf(out, "STAT dpdk_version %s\r\n", rte_version());
	STAT_U64(out, "workers", rte_lcore_count() - 1);
	STAT_U64(out, "tsc_hz", rte_get_tsc_hz());
	fprintf(out, "STAT ip %s/%u\r\n", ip, src->opts->ip.len);
	fprintf(out, "STAT mac %s\r\n", mac);
	fprintf(out, "STAT mac_filter %s\r\n", src->port->mac_in_software ? "software" : "port");
	fprintf(out, "STAT port_driver %s\r\n", src->port->driver);
	fprintf(out, "STAT rss %s\r\n", src->port->rss ? "on" : "off");
	fprintf(out, "STAT rx_steering %s\r\n", port_steering_name(src->port->steering));
	STAT_U64(out, "rx_queues", src->port->nb_rx_queues);
	STAT_U64(out, "rx_polling_workers", src->port->rx_pollers);
	fprintf(out, "STAT tx_checksum %s\r\n", src->port->tx_cksum_offload ? "offload" : "software");
	fprintf(out, "STAT idle_mode %s\r\n", stats_idle_mode(src));
	STAT_U64(out, "tcp_port", src->opts->tcp_port);
	STAT_U64(out, "udp_port", src->opts->udp_port);
	STAT_U64(out, "udp_port_base", src->opts->udp_port_base);
	STAT_U64(out, "udp_partition_ports",
		 src->opts->udp_port_base != 0 ? rte_lcore_count() - 1 : 0);
	fprintf(out, "STAT udp_steering %s\r\n",
		src->udp_steering != NULL ? src->udp_steering : "off");
	STAT_U64(out, "max_connections", src->opts->max_conns);
}

static void stats_port(FILE *out, const struct stats_source *src)
{
	struct rte_eth_stats s;
	uint16_t id = src->port->port_id;
	char name[64];

	if (rte_eth_stats_get(id, &s) < 0)
		return;
#define PORT_STAT(field)                                                                           \
	do {                                                                                       \
		snprintf(name, sizeof(name), "port%u_%s", id, #field);                             \
		STAT_U64(out, name, s.field);                                                      \
	} while (0)
	PORT_STAT(ipackets);
	PORT_STAT(opackets);
	PORT_STAT(ibytes);
	PORT_STAT(obytes);
	PORT_STAT(imissed);
	PORT_STAT(ierrors);
	PORT_STAT(oerrors);
	PORT_STAT(rx_nombuf);
#undef PORT_STAT
	STAT_U64(out, "mbuf_pool_size", src->pool->size);
	STAT_U64(out, "mbuf_pool_in_use", rte_mempool_in_use_count(src->pool));
}

static void stats_net(FILE *out, const char *prefix, const struct net_counters *c)
{
	char name[96];

#define NET_COUNTER_PRINT(field, desc)                                                             \
	snprintf(name, sizeof(name), "%s%s", prefix, #field);                                      \
	STAT_U64(out, name, net_counter_read(&c->field));
	NET_COUNTERS(NET_COUNTER_PRINT)
#undef NET_COUNTER_PRINT
}

/* The store's counters under memcached's names. */
static void stats_store(FILE *out, const struct stats_source *src)
{
	struct store_stats st;

	if (src->store == NULL)
		return;
	store_stats(src->store, -1, &st);
#define STORE_STAT(field) STAT_U64(out, #field, st.field)
	STORE_STAT(curr_items);
	STORE_STAT(total_items);
	STORE_STAT(bytes);
	STORE_STAT(limit_maxbytes);
	STORE_STAT(total_malloced);
	STORE_STAT(evictions);
	STORE_STAT(expired_unfetched);
	STORE_STAT(evicted_unfetched);
	STORE_STAT(reclaimed);
	STORE_STAT(get_hits);
	STORE_STAT(get_misses);
	STORE_STAT(get_expired);
	STORE_STAT(get_flushed);
	STORE_STAT(cmd_set);
	STORE_STAT(delete_hits);
	STORE_STAT(delete_misses);
	STORE_STAT(touch_hits);
	STORE_STAT(touch_misses);
#undef STORE_STAT
	/* Per partition (worker N owns partition N): where the keys and the reads land. */
	for (unsigned int i = 0; i < store_partitions(src->store); i++) {
		char name[64];

		store_stats(src->store, (int)i, &st);
		snprintf(name, sizeof(name), "partition%u_curr_items", i);
		STAT_U64(out, name, st.curr_items);
		snprintf(name, sizeof(name), "partition%u_bytes", i);
		STAT_U64(out, name, st.bytes);
		snprintf(name, sizeof(name), "partition%u_get_hits", i);
		STAT_U64(out, name, st.get_hits);
	}
}

static void stats_tcp(FILE *out)
{
	struct tcp_service_counters svc = {0};
	struct tcp_counters sum = {0};
	unsigned int lcore;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (workers[lcore].tcp_svc == NULL)
			continue;
		tcp_counters_add(&sum, &workers[lcore].tcp_svc->tw.ctr);
		tcp_service_counters_add(&svc, workers[lcore].tcp_svc);
	}
	/* memcached's names for the connection counts; the engine's own with tcp_. */
	STAT_U64(out, "curr_connections", sum.curr_connections);
	STAT_U64(out, "total_connections", sum.total_connections);
	STAT_U64(out, "rejected_connections", sum.rejected_connections);
#define TCP_PRINT(field, desc) STAT_U64(out, "tcp_" #field, sum.field);
	TCP_COUNTERS(TCP_PRINT)
#undef TCP_PRINT
#define TCP_SERVICE_PRINT(field, desc) STAT_U64(out, #field, svc.field);
	TCP_SERVICE_COUNTERS(TCP_SERVICE_PRINT)
#undef TCP_SERVICE_PRINT
}

/*
 * A worker's loop (busy and idle TSC cycles: see struct worker) and where its
 * connections came from: its own queue or other workers.
 */
static void stats_worker(FILE *out, const char *prefix, const struct worker *w)
{
	char name[64];

#define WORKER_STAT(field, v)                                                                      \
	do {                                                                                       \
		snprintf(name, sizeof(name), "%s%s", prefix, field);                               \
		STAT_U64(out, name, v);                                                            \
	} while (0)
	if (w->tcp_svc != NULL) {
		WORKER_STAT("tcp_curr_connections",
			    net_counter_read(&w->tcp_svc->tw.ctr.curr_connections));
		WORKER_STAT("tcp_total_connections",
			    net_counter_read(&w->tcp_svc->tw.ctr.total_connections));
	}
	WORKER_STAT("busy_cycles", net_counter_read(&w->busy_cycles));
	WORKER_STAT("idle_cycles", net_counter_read(&w->idle_cycles));
	WORKER_STAT("polls", net_counter_read(&w->polls));
	WORKER_STAT("polls_empty", net_counter_read(&w->polls_empty));
	WORKER_STAT("tcp_handoff_out", net_counter_read(&w->handoff_out));
	WORKER_STAT("tcp_handoff_in", net_counter_read(&w->handoff_in));
	WORKER_STAT("tcp_handoff_dropped", net_counter_read(&w->handoff_dropped));
#undef WORKER_STAT
}

static void stats_udp(FILE *out)
{
	struct udp_service_counters sum = {0};
	unsigned int lcore;

	RTE_LCORE_FOREACH_WORKER(lcore)
		if (workers[lcore].udp_svc != NULL)
			udp_service_counters_add(&sum, workers[lcore].udp_svc);
#define UDP_SERVICE_PRINT(field, desc) STAT_U64(out, #field, sum.field);
	UDP_SERVICE_COUNTERS(UDP_SERVICE_PRINT)
#undef UDP_SERVICE_PRINT
}

void stats_write(FILE *out, const struct stats_source *src)
{
	struct net_counters sum = {0};
	unsigned int lcore;
	char prefix[32];

	stats_server(out, src);
	stats_port(out, src);
	RTE_LCORE_FOREACH_WORKER(lcore)
		net_counters_add(&sum, &workers[lcore].net);
	stats_store(out, src);
	stats_tcp(out);
	stats_udp(out);
	stats_net(out, "", &sum);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		snprintf(prefix, sizeof(prefix), "worker%u_", lcore);
		stats_net(out, prefix, &workers[lcore].net);
		stats_worker(out, prefix, &workers[lcore]);
	}
}

static const struct stats_source *telemetry_source;

/*
 * Telemetry wants a dictionary; rather than a second list of names, parse
 * the `stats` text: numeric values become u64 entries, the rest strings.
 */
static int stats_telemetry(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *out;

	(void)cmd;
	(void)params;
	out = open_memstream(&buf, &len);
	if (out == NULL)
		return -ENOMEM;
	stats_write(out, telemetry_source);
	fclose(out);
	rte_tel_data_start_dict(d);
	for (line = strtok_r(buf, "\r\n", &save); line != NULL; line = strtok_r(NULL, "\r\n", &save)) {
		char name[64], value[128], *end;
		unsigned long long v;

		if (sscanf(line, "STAT %63s %127s", name, value) != 2)
			continue;
		v = strtoull(value, &end, 10);
		if (*end == '\0' && value[0] != '-')
			rte_tel_data_add_dict_u64(d, name, v);
		else
			rte_tel_data_add_dict_string(d, name, value);
	}
	free(buf);
	return 0;
}

int stats_telemetry_register(const struct stats_source *src)
{
	telemetry_source = src;
	return rte_telemetry_register_cmd("/dpcache/stats", stats_telemetry,
					  "dpcached's counters, as the admin socket's stats");
}
