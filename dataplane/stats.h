/* `stats` for the admin socket: server, port and per-worker counters. */
#ifndef DPCACHE_STATS_H
#define DPCACHE_STATS_H

#include <stdio.h>
#include <time.h>

#include <rte_mempool.h>

#include "net/port.h"
#include "options.h"
#include "store/store.h"

struct stats_source {
	const struct dp_options *opts;
	const struct port_info *port;
	struct rte_mempool *pool;
	struct store *store;
	time_t started;
	const char *udp_steering; /* flow_steering_name(): off, single, none, flow */
};

/* Write memcached-style `STAT name value\r\n` lines (no END). */
void stats_write(FILE *out, const struct stats_source *src);

/*
 * Register /dpcache/stats with DPDK telemetry (dpdk-telemetry.py): the same
 * counters as `stats`, as one dictionary. `src` must outlive the EAL.
 */
int stats_telemetry_register(const struct stats_source *src);

#endif
