/*
 * Building a UDP reply straight in mbufs: the service writes its reply bytes,
 * the writer cuts them into datagrams of at most UDP_REPLY_PAYLOAD_MAX bytes
 * after memcached's 8-byte frame header, and finish() fills in the Ethernet,
 * IPv4, UDP and frame headers of every datagram (sequence numbers and the
 * datagram count are only known at the end). No intermediate buffer.
 */
#ifndef DPCACHE_UDP_REPLY_H
#define DPCACHE_UDP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dpcache/proto_udp.h"
#include "udp.h"

#define UDP_FRAME_HDR_LEN PROTO_UDP_HDR_LEN
#define UDP_REPLY_PAYLOAD_MAX PROTO_UDP_PAYLOAD_MAX /* bytes after the frame header */
#define UDP_REPLY_MAX_DGRAMS 1024  /* about 1.4 MB: above the default item size limit */

struct udp_reply {
	struct rte_mempool *pool;
	uint16_t n;    /* datagrams started */
	uint16_t used; /* payload bytes in the last datagram */
	int error;     /* 0, -ENOBUFS (pool empty) or -EMSGSIZE (too many datagrams) */
	uint64_t bytes;
	struct rte_mbuf *dgrams[UDP_REPLY_MAX_DGRAMS];
};

/* Start an empty reply whose datagrams come from `pool`. */
void udp_reply_begin(struct udp_reply *r, struct rte_mempool *pool);

/*
 * Append len bytes of reply. Returns 0, or the reply's error once it has one
 * (later writes are ignored, so a service can write on and check at the end).
 */
int udp_reply_write(struct udp_reply *r, const void *data, size_t len);

/*
 * Make every datagram ready to send as the answer to `req` (whose frame
 * header carries `request_id`). With `offload`, IPv4 and UDP checksums are
 * left to the NIC; else they are computed here. Returns the number of
 * datagrams in r->dgrams, or a negative error (and frees them).
 */
int udp_reply_finish(struct udp_reply *r, const struct net_iface *ifc, const struct udp_dgram *req,
		     uint16_t request_id, int offload);

/* Free whatever the reply holds. */
void udp_reply_abort(struct udp_reply *r);

#endif
