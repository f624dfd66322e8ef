/*
 * Building a UDP reply straight in mbufs: the service writes its reply bytes,
 * the writer cuts them into datagrams of at most UDP_REPLY_PAYLOAD_MAX bytes
 * after memcached's 8-byte frame header, and finish() fills in the Ethernet,
 * IPv4, UDP and frame headers of every datagram (sequence numbers and the
 * datagram count are only known at the end). No intermediate buffer.
 *
 * Writes that fit the current datagram are inline (a bounds check and a
 * memcpy); headers come from a template kept per reply writer, so a datagram
 * costs a copy of 48 bytes, a few stores and, without checksum offload, one
 * pass over its payload.
 */
#ifndef DPCACHE_UDP_REPLY_H
#define DPCACHE_UDP_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "dpcache/proto_udp.h"
#include "udp.h"

#define UDP_FRAME_HDR_LEN PROTO_UDP_HDR_LEN
#define UDP_REPLY_PAYLOAD_MAX PROTO_UDP_PAYLOAD_MAX /* bytes after the frame header */
#define UDP_REPLY_MAX_DGRAMS 1024  /* about 1.4 MB: above the default item size limit */
#define UDP_REPLY_STASH 32	   /* mbufs taken from the pool at a time */
#define UDP_REPLY_PAD 32	   /* zeros after a payload for the checksum (net/cksum.h) */
/* Ethernet, IPv4, UDP and frame headers before a datagram's payload. */
#define UDP_REPLY_HDRS                                                                             \
	(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) + \
	 UDP_FRAME_HDR_LEN)

struct udp_reply {
	struct rte_mempool *pool;
	char *pos;     /* where the next payload byte goes */
	uint32_t room; /* bytes left in the current datagram (0: none open, or an error) */
	uint16_t n;    /* datagrams started */
	int error;     /* 0, -ENOBUFS (pool empty) or -EMSGSIZE (too many datagrams) */
	/* The headers every datagram of this writer shares (see udp_reply.c). */
	const struct net_iface *tmpl_ifc;
	uint64_t tmpl_ip_sum, tmpl_ph_sum;
	uint8_t tmpl[48] __rte_aligned(16);
	/* mbufs taken from `pool` in bulk, not yet used (udp_reply_release frees them) */
	uint16_t nstash;
	struct rte_mbuf *stash[UDP_REPLY_STASH];
	struct rte_mbuf *dgrams[UDP_REPLY_MAX_DGRAMS];
};

/*
 * The UDP payload bytes of the reply so far, frame headers included (what
 * the amplification ratio counts). Meaningful while the reply has no error.
 */
static inline uint64_t udp_reply_bytes(const struct udp_reply *r)
{
	if (r->n == 0)
		return 0;
	return (uint64_t)r->n * (UDP_FRAME_HDR_LEN + UDP_REPLY_PAYLOAD_MAX) - r->room;
}

/* A position in a reply, to come back to (a read that has to start over). */
struct udp_reply_mark {
	char *pos;
	uint32_t room;
	uint16_t n;
};

/* Start an empty reply whose datagrams come from `pool`. */
static inline void udp_reply_begin(struct udp_reply *r, struct rte_mempool *pool)
{
	r->pool = pool;
	r->pos = NULL;
	r->room = 0;
	r->n = 0;
	r->error = 0;
}

/* Room enough for a whole datagram after m's data offset (and the checksum's padding). */
static inline bool udp_reply_fits(const struct rte_mbuf *m)
{
	return (size_t)(m->buf_len - m->data_off) >=
	       UDP_REPLY_HDRS + UDP_REPLY_PAYLOAD_MAX + UDP_REPLY_PAD;
}

/*
 * Start a reply whose first datagram is `m`, the request's own mbuf (one
 * mbuf less to allocate and free per request), opened at once: the request's
 * payload is overwritten by the first write, its headers are read by
 * finish(). Returns true if the reply took m (then it owns it); false for
 * an mbuf that is shared, chained or too small, which stays the caller's
 * (the first datagram then comes from the pool).
 */
static inline bool udp_reply_begin_in(struct udp_reply *r, struct rte_mempool *pool,
				      struct rte_mbuf *m)
{
	udp_reply_begin(r, pool);
	if (unlikely(!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 || m->nb_segs != 1 ||
		     !udp_reply_fits(m)))
		return false;
	/* what the NIC said of it when it came in means nothing for the reply */
	m->ol_flags = 0;
	m->tx_offload = 0;
	m->packet_type = 0;
	r->dgrams[0] = m;
	r->n = 1;
	r->pos = rte_pktmbuf_mtod_offset(m, char *, UDP_REPLY_HDRS);
	r->room = UDP_REPLY_PAYLOAD_MAX;
	return true;
}

int udp_reply_write_split(struct udp_reply *r, const void *data, size_t len);

/*
 * Append len bytes of reply. Returns 0, or the reply's error once it has one
 * (later writes are ignored, so a service can write on and check at the end).
 */
static inline int udp_reply_write(struct udp_reply *r, const void *data, size_t len)
{
	if (likely(len <= r->room)) {
		memcpy(r->pos, data, len);
		r->pos += len;
		r->room -= (uint32_t)len;
		return 0;
	}
	return udp_reply_write_split(r, data, len);
}

/*
 * Room for `len` bytes in one piece in the current datagram, to write in
 * place and then udp_reply_commit() (at most len); NULL if they do not fit
 * (write them with udp_reply_write instead).
 */
static inline char *udp_reply_reserve(struct udp_reply *r, size_t len)
{
	return len <= r->room ? r->pos : NULL;
}

static inline void udp_reply_commit(struct udp_reply *r, size_t len)
{
	r->pos += len;
	r->room -= (uint32_t)len;
}

static inline void udp_reply_mark(const struct udp_reply *r, struct udp_reply_mark *m)
{
	m->pos = r->pos;
	m->room = r->room;
	m->n = r->n;
}

void udp_reply_rewind_dgrams(struct udp_reply *r, uint16_t n);

/* Forget what was written after `m` (an error stays). */
static inline void udp_reply_rewind(struct udp_reply *r, const struct udp_reply_mark *m)
{
	if (likely(r->pos == m->pos))
		return; /* nothing written since (another datagram has another buffer) */
	if (unlikely(r->n != m->n))
		udp_reply_rewind_dgrams(r, m->n);
	if (r->error == 0) {
		r->pos = m->pos;
		r->room = m->room;
	}
}

/*
 * Make every datagram ready to send as the answer to `req` (whose frame
 * header carries `request_id`). With `offload`, IPv4 and UDP checksums are
 * left to the NIC; else they are computed here. Returns the number of
 * datagrams in r->dgrams, or a negative error (and frees them). The
 * request's headers are read before any are written: `req` may lie in the
 * first datagram's mbuf (udp_reply_begin_in).
 */
int udp_reply_finish(struct udp_reply *r, const struct net_iface *ifc, const struct udp_dgram *req,
		     uint16_t request_id, int offload);

/* Free whatever the reply holds. */
void udp_reply_abort(struct udp_reply *r);

/* Give the stashed mbufs back to the pool (before the pool goes away). */
void udp_reply_release(struct udp_reply *r);

#endif
