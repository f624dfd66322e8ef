/*
 * memcache over TCP, per worker: the TCP engine (dataplane/tcp) owns the
 * connections, the executor (dataplane/process) runs their bytes against the
 * store, and replies go back through tcp_send (small) or as an mbuf chain
 * handed to tcp_send_mbuf (large). A connection whose peer does not read
 * stops being read: its input stays in the engine's receive buffer and the
 * advertised window closes, so a slow reader costs bounded memory. The same
 * happens to every connection while the mbuf pool runs low (below a quarter):
 * requests wait, unread, instead of failing for want of buffers; the worker
 * calls tcp_service_retry() every loop to resume them.
 */
#ifndef DPCACHE_TCP_SERVICE_H
#define DPCACHE_TCP_SERVICE_H

#include <stdint.h>
#include <sys/uio.h>

#include <rte_mempool.h>

#include "process/process.h"
#include "tcp/tcp.h"

#define TCP_SERVICE_IOV_MAX 1024

#define TCP_SERVICE_COUNTERS(X)                                                                    \
	X(tcp_requests_bytes, "request bytes run through the executor")                           \
	X(tcp_reply_bytes, "reply bytes handed to the TCP engine")                                \
	X(tcp_reply_nobufs, "connections closed: no mbufs for a reply")                           \
	X(tcp_reply_too_large, "connections closed: one request's reply exceeded the buffer")     \
	X(tcp_backpressure, "times a connection stopped being read until its peer read")          \
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
	int starved; /* on the service's list of connections waiting for mbufs */
};

struct tcp_service {
	struct tcp_worker tw;
	struct process_worker pw;
	struct rte_mempool *pool;
	struct tcp_mc_conn *conns; /* max_conns of them */
	uint32_t now;		   /* unix time, for the store */
	uint32_t item_size_max;
	int pool_low;		   /* set once per loop by tcp_service_retry */
	unsigned int pool_reserve; /* free mbufs below which requests wait */
	uint32_t nstarved;
	uint32_t *starved; /* connection ids waiting for mbufs */
	struct tcp_service_counters ctr;
	size_t out_cap;
	char *out_buf;
	struct iovec iov[TCP_SERVICE_IOV_MAX];
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

/* Add this service's counters to `sum` (reader side). */
void tcp_service_counters_add(struct tcp_service_counters *sum, const struct tcp_service *svc);

#endif
