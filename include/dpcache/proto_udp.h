/*
 * memcached's UDP frame: an 8-byte header (request id, sequence number,
 * datagram count, reserved; all big-endian) before each datagram's payload.
 * A request must fit one datagram; a reply is cut into datagrams of at most
 * PROTO_UDP_PAYLOAD_MAX payload bytes, numbered 0..count-1. Pure functions:
 * no sockets, no mbufs.
 */
#ifndef DPCACHE_PROTO_UDP_H
#define DPCACHE_PROTO_UDP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "dpcache/proto.h"

#define PROTO_UDP_HDR_LEN 8
/** Payload bytes per reply datagram after the frame header (memcached: 1400). */
#define PROTO_UDP_PAYLOAD_MAX 1400

struct proto_udp_hdr {
	uint16_t req_id;
	uint16_t seq;
	uint16_t count;
	uint16_t reserved;
};

/**
 * Read a request datagram's header. Returns 0 and the payload span, -EINVAL
 * if shorter than the header, -EMSGSIZE for a multi-datagram request
 * (seq != 0 or count != 1: memcached drops those). Inline: every UDP
 * request passes here.
 */
static inline int proto_udp_parse(const void *dgram, size_t len, struct proto_udp_hdr *hdr,
				  const char **payload, size_t *payload_len)
{
	const uint8_t *p = (const uint8_t *)dgram;

	if (len < PROTO_UDP_HDR_LEN)
		return -EINVAL;
	hdr->req_id = (uint16_t)(p[0] << 8 | p[1]);
	hdr->seq = (uint16_t)(p[2] << 8 | p[3]);
	hdr->count = (uint16_t)(p[4] << 8 | p[5]);
	hdr->reserved = (uint16_t)(p[6] << 8 | p[7]);
	/* memcached checks only the count; a non-zero sequence number in a
	 * one-datagram request is as impossible, refuse it too */
	if (hdr->count != 1 || hdr->seq != 0)
		return -EMSGSIZE;
	*payload = (const char *)p + PROTO_UDP_HDR_LEN;
	*payload_len = len - PROTO_UDP_HDR_LEN;
	return 0;
}

/**
 * The header of reply datagram `seq` of `count` (reserved 0), in wire order
 * at `dst`. The one encoder of reply headers: proto_udp_split_next and the
 * dataplane's replies built in packet buffers (dataplane/net/udp_reply.c)
 * both write theirs with it. Inline: it is one store.
 */
static inline void proto_udp_put_reply_hdr(void *dst, uint16_t req_id, uint16_t seq,
					   uint16_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t w = (uint64_t)__builtin_bswap16(req_id) |
			   (uint64_t)__builtin_bswap16(seq) << 16 |
			   (uint64_t)__builtin_bswap16(count) << 32;
#else
	const uint64_t w = (uint64_t)req_id << 48 | (uint64_t)seq << 32 | (uint64_t)count << 16;
#endif

	memcpy(dst, &w, sizeof(w));
}

/** Write a header in wire order. */
void proto_udp_write_hdr(void *dst, const struct proto_udp_hdr *hdr);

/**
 * Cuts a reply (an iovec list, e.g. proto_out's) into datagrams: each
 * datagram full (`max` bytes) but the last, numbered 0..count-1. The
 * dataplane cuts replies it writes into packet buffers by the same rule
 * (tests/unit/test_udp_reply.c holds the two to the same bytes).
 */
struct proto_udp_splitter {
	const struct iovec *iov;
	unsigned iov_cnt;
	unsigned idx; /* current iovec */
	size_t off;   /* offset in it */
	size_t left;  /* reply bytes not yet handed out */
	size_t max;   /* payload bytes per datagram */
	uint16_t req_id;
	uint16_t seq;
	uint16_t count;
};

/**
 * Start splitting `total` bytes of reply. `max_payload` 0 means
 * PROTO_UDP_PAYLOAD_MAX. Returns the datagram count (an empty reply still
 * makes one datagram: memcached sends nothing then, so callers skip
 * total == 0), or -EMSGSIZE if it would need more than 65535 datagrams.
 */
int proto_udp_split_init(struct proto_udp_splitter *s, uint16_t req_id, const struct iovec *iov,
			 unsigned iov_cnt, size_t total, size_t max_payload);

/**
 * The next datagram: its header in `hdr` (8 bytes, wire order) and its
 * payload as up to `out_max` spans in `out` (*out_cnt set). Returns the
 * payload length, 0 when done, or -ENOSPC if `out_max` spans were too few
 * (retry with more; nothing was consumed).
 */
long proto_udp_split_next(struct proto_udp_splitter *s, uint8_t hdr[PROTO_UDP_HDR_LEN],
			  struct iovec *out, unsigned out_max, unsigned *out_cnt);

/** Most keys proto_udp_get_scan hands out (longer multigets take the general parser). */
#define PROTO_UDP_GET_KEYS_MAX 64

/**
 * The read path's shortcut: recognise a datagram payload that is exactly one
 * `get` or `gets` line ("get k1 k2\r\n", keys split by spaces, "\n" or
 * "\r\n" at the very end) whose keys are all 1..PROTO_KEY_MAX bytes without
 * '\r' or NUL. Returns the number of keys (1..max), their spans in `keys`
 * (pointing into `buf`) and *cas for gets; 0 for anything else, which the
 * general parser (proto_parse) must then handle. What it accepts, the general
 * parser reads as the same keys (tests/unit/test_proto.c checks both).
 */
unsigned proto_udp_get_scan(const char *buf, size_t len, bool *cas, struct proto_span *keys,
			    unsigned max);

#endif
