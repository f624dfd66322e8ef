/*
 * memcache over UDP, per worker: a datagram's frame header is read
 * (lib/proto); a plain get/gets line is answered straight from the store
 * (udp_get.c), any other request runs through the executor
 * (dataplane/process); either way the reply is cut into datagrams built in
 * mbufs (net/udp_reply). A lost or late reply is just a miss to the client,
 * so every failure here is a counted drop, never a partial answer.
 *
 * Requests run through a short software pipeline, so that the store's memory
 * misses overlap with the work on other requests instead of stalling each
 * in turn (after MICA and MemC3): a request entering it has its frame
 * header and get line read, its keys hashed and their buckets prefetched;
 * one request later the items those buckets name are prefetched; one more
 * request later it is served, exactly as it would be alone. Requests are
 * served in arrival order, each from the store as it is then (a get that
 * follows a UDP set sees it).
 */
#ifndef DPCACHE_UDP_SERVICE_H
#define DPCACHE_UDP_SERVICE_H

#include <stdint.h>
#include <sys/uio.h>

#include <rte_mempool.h>

#include "dpcache/proto_udp.h"
#include "net/udp.h"
#include "net/udp_reply.h"
#include "process/process.h"
#include "store/store_value.h"

#define UDP_SERVICE_IOV_MAX 4096
/* The largest reply: as many bytes as UDP_REPLY_MAX_DGRAMS datagrams carry. */
#define UDP_SERVICE_OUT_MAX ((size_t)UDP_REPLY_MAX_DGRAMS * UDP_REPLY_PAYLOAD_MAX)

/* Counters of the UDP service, declared once (see net_counters.h). */
#define UDP_SERVICE_COUNTERS(X)                                                                    \
	X(udp_requests, "request datagrams served")                                                \
	X(udp_fast_gets, "of which plain get/gets lines answered without the executor")           \
	X(udp_replies, "replies sent (one or more datagrams each)")                                \
	X(udp_reply_datagrams, "reply datagrams queued for sending")                               \
	X(udp_noreply, "requests that asked for no reply")                                         \
	X(drop_udp_frame, "datagram without a valid single-datagram frame header")                 \
	X(drop_udp_reply_too_large, "reply larger than a UDP reply may be")                        \
	X(drop_udp_reply_nobufs, "reply dropped: mbuf pool exhausted")                             \
	X(udp_ratio_refused,                                                                       \
	  "replies over --udp-reply-ratio times their request: an error line sent, or nothing")

struct udp_service_counters {
#define UDP_SERVICE_FIELD(name, desc) uint64_t name;
	UDP_SERVICE_COUNTERS(UDP_SERVICE_FIELD)
#undef UDP_SERVICE_FIELD
};

/* Requests in the pipeline at most (a power of two); the last two are still warming up. */
#define UDP_SERVICE_PIPE 4
#define UDP_SERVICE_LAG	 2

/* A request in the pipeline: its datagram, and its keys if the shortcut serves it. */
struct udp_pending {
	struct rte_mbuf *m;
	struct udp_dgram d;
	const char *req; /* the request, in m */
	uint32_t req_len;
	uint16_t req_id;
	uint8_t nkeys; /* 0: the executor serves it */
	bool cas;
	struct proto_span keys[PROTO_UDP_GET_KEYS_MAX];
	struct store_probe probes[PROTO_UDP_GET_KEYS_MAX];
};

struct udp_service {
	struct process_worker pw;
	struct process_conn conn;
	struct rte_mempool *pool;
	struct udp_service_counters ctr;
	bool fast_get, fast_gets; /* get, gets allowed over UDP: the shortcut serves them */
	uint32_t reply_ratio;	  /* --udp-reply-ratio: reply ≤ ratio × request bytes (0: any) */
	char *out_buf; /* UDP_SERVICE_OUT_MAX bytes on the worker's socket */
	unsigned int first, npending; /* the pipeline: pending[first], then the next ones */
	struct udp_pending pending[UDP_SERVICE_PIPE];
	char line[2048]; /* a get line, copied out of the mbuf its reply reuses */
	struct iovec iov[UDP_SERVICE_IOV_MAX];
	struct udp_reply reply;
};

/*
 * Set up the service of store thread `tid` on NUMA `socket`; the executor
 * applies `cfg` (item size limit, the commands allowed over UDP).
 */
int udp_service_setup(struct udp_service *svc, struct store *store, unsigned int tid,
		      const struct proto_config *cfg, struct rte_mempool *pool, int socket);
void udp_service_teardown(struct udp_service *svc);

/*
 * Take one validated datagram `d`, received in `m`, into the pipeline at unix
 * time `now`; the service owns m from here (it may build the reply in it).
 * Serves the oldest request if the pipeline is full. Returns the number of
 * reply datagrams left in svc->reply.dgrams for the caller to send (0: none).
 * Replies come from `ifc`, checksums left to the NIC if `tx_offload`.
 */
int udp_service_handle(struct udp_service *svc, const struct net_iface *ifc, struct rte_mbuf *m,
		       const struct udp_dgram *d, uint32_t now, int tx_offload);

/*
 * Serve the oldest request in the pipeline (after a burst, until none is
 * left): the number of reply datagrams in svc->reply.dgrams as above, or -1
 * if the pipeline is empty.
 */
int udp_service_drain(struct udp_service *svc, const struct net_iface *ifc, uint32_t now,
		      int tx_offload);

/* Add this service's counters to `sum` (reader side). */
void udp_service_counters_add(struct udp_service_counters *sum, const struct udp_service *svc);

#endif
