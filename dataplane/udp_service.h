/*
 * memcache over UDP, per worker: a datagram's frame header is read
 * (lib/proto); a plain get/gets line is answered straight from the store
 * (udp_get.c), any other request runs through the executor
 * (dataplane/process); either way the reply is cut into datagrams built in
 * mbufs (net/udp_reply). A lost or late reply is just a miss to the client,
 * so every failure here is a counted drop, never a partial answer.
 */
#ifndef DPCACHE_UDP_SERVICE_H
#define DPCACHE_UDP_SERVICE_H

#include <stdint.h>
#include <sys/uio.h>

#include <rte_mempool.h>

#include "net/udp.h"
#include "net/udp_reply.h"
#include "process/process.h"

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

struct udp_service {
	struct process_worker pw;
	struct process_conn conn;
	struct rte_mempool *pool;
	struct udp_service_counters ctr;
	bool fast_get, fast_gets; /* get, gets allowed over UDP: the shortcut serves them */
	uint32_t reply_ratio;	  /* --udp-reply-ratio: reply ≤ ratio × request bytes (0: any) */
	char *out_buf; /* UDP_SERVICE_OUT_MAX bytes on the worker's socket */
	struct proto_span keys[PROTO_UDP_GET_KEYS_MAX];
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
 * Serve one validated datagram `d`, received in `m`, at unix time `now`. The
 * service owns m from here (it may build the reply in it). Returns the number
 * of reply datagrams left in svc->reply.dgrams for the caller to send (0:
 * none).
 */
int udp_service_handle(struct udp_service *svc, const struct net_iface *ifc, struct rte_mbuf *m,
		       const struct udp_dgram *d, uint32_t now, int tx_offload);

/* Add this service's counters to `sum` (reader side). */
void udp_service_counters_add(struct udp_service_counters *sum, const struct udp_service *svc);

#endif
