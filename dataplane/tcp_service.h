/*
 * memcache over TCP, per worker: the TCP engine (dataplane/tcp) owns the
 * connections, the executor (dataplane/process) runs their bytes against the
 * store and writes replies straight into mbufs (a segmented proto_out: the
 * store copies a value once, into packet buffers), and the chain goes to the
 * engine with tcp_send_mbuf, which never copies it again.
 *
 * Replies stream: the executor stops between the keys of a multiget once the
 * reply reached the connection's free send space, the chain so far is sent,
 * and the request resumes when the peer has read half of snd_buf. So any
 * multiget is answered, and a connection whose peer does not read holds at
 * most snd_buf plus one value: its input stays in the engine's receive buffer
 * and the advertised window closes. The same happens to every connection
 * while the mbuf pool runs low (below a quarter): requests wait instead of
 * failing for want of buffers; the worker calls tcp_service_retry() every
 * loop to resume them.
 */
#ifndef DPCACHE_TCP_SERVICE_H
#define DPCACHE_TCP_SERVICE_H

#include <stdint.h>

#include <rte_mempool.h>

#include "process/process.h"
#include "tcp/tcp.h"

#define TCP_SERVICE_COUNTERS(X)                                                                  \
	X(tcp_requests_bytes, "request bytes run through the executor")                          \
	X(tcp_reply_bytes, "reply bytes handed to the TCP engine")                               \
	X(tcp_reply_nobufs, "connections closed: no mbufs for a reply")                          \
	X(tcp_reply_pauses, "times a multiget's reply stopped between keys until the peer read") \
	X(tcp_backpressure, "times a connection stopped being read until its peer read")         \
	X(tcp_pool_waits, "times a connection waited for the mbuf pool to refill")

struct tcp_service_counters {
#define TCP_SERVICE_FIELD(name, desc) uint64_t name;
	TCP_SERVICE_COUNTERS(TCP_SERVICE_FIELD)
#undef TCP_SERVICE_FIELD
};

/* What each connection carries for the executor; indexed by tcp_conn_id(). */
struct tcp_mc_conn {
	struct process_conn pc;
	int open;
	int starved;	     /* on the service's list of connections waiting for mbufs */
	uint32_t paused_len; /* input bytes of a paused multiget, consumed when it ends */
	uint32_t last_cmd;   /* unix time of its last request (stats conns) */
};

struct tcp_service {
	struct tcp_worker tw;
	struct process_worker pw;
	struct rte_mempool *pool;
	struct tcp_mc_conn *conns; /* max_conns of them */
	uint32_t now;		   /* unix time, for the store */
	uint32_t item_size_max;
	int pool_low;		   /* set by tcp_service_retry (every 16th loop, or while any wait) */
	uint32_t retry_loops;	   /* loops since start, for that sampling */
	unsigned int pool_reserve; /* free mbufs below which requests wait */
	uint32_t nstarved;
	uint32_t *starved; /* connection ids waiting for mbufs */
	/* stats conns */
	unsigned int index; /* the worker's number (its store thread) */
	uint32_t started;   /* unix time of set-up */
	uint16_t udp_port;  /* listed as memcached lists its UDP sockets (0: none) */
	int64_t serving;    /* id of the connection being served, -1 if none */
	struct tcp_service_counters ctr;
	/* The reply being built: a chain of payload mbufs (proto_out segments). */
	struct proto_out out;
	struct proto_out_segments segs;
	struct rte_mbuf *out_head, *out_tail;
};

/*
 * Listen on `cfg->port` (cfg->app is the service's own) and run requests
 * against store thread `tid`. cfg->max_conns bounds this worker's connections.
 */
int tcp_service_setup(struct tcp_service *svc, struct tcp_config *cfg, struct store *store,
		      unsigned int tid, uint32_t item_size_max, struct rte_mempool *pool);
void tcp_service_teardown(struct tcp_service *svc);

/*
 * Once per worker loop: note whether the mbuf pool runs low and, if not,
 * resume the connections that waited for it.
 */
void tcp_service_retry(struct tcp_service *svc);

/*
 * `stats conns` in memcached's format for every worker's service (the
 * executor's hook, process_set_stats_conns; set up by tcp_service_setup).
 * Numbers stand for memcached's fds: 0 the TCP listener, 1 + i worker i's
 * UDP port, TCP_SERVICE_CONN_ID0 + i * max_conns + tcp_conn_id() a
 * connection of worker i. Other workers' tables are read without locks, as
 * memcached reads its connection list: a line may be a moment out of date.
 */
#define TCP_SERVICE_CONN_ID0 1024
void tcp_service_stats_conns(void *ctx, struct proto_out *out, uint32_t now);

/* Add this service's counters to `sum` (reader side). */
void tcp_service_counters_add(struct tcp_service_counters *sum, const struct tcp_service *svc);

#endif
