/*
 * SYN cookies: when the SYN queue is full, the SYN-ACK's sequence number
 * carries all the connection needs, and no state is kept until the ACK.
 *
 *	bits 31..27  t: minutes-ish counter (now >> 26 µs, about 67 s), mod 32
 *	bits 26..24  index of the peer's MSS in mss_table (rounded down)
 *	bits 23..0   keyed hash of the 4-tuple, the peer's ISN and t
 *
 * An ACK is accepted when its cookie was made in the current or the previous
 * period. Window scaling is not offered in cookie SYN-ACKs (no room to keep
 * the peer's shift), SACK is never offered. Timestamps are carried, not
 * encoded: a cookie SYN-ACK echoes them when the SYN had them, and the
 * peer's ACK then has them too (RFC 7323 3.2: only then may it send them),
 * which is all the connection needs to turn them on; its TSval offset is a
 * keyed hash of the peer's address and port, found again from the ACK.
 */
#include <rte_jhash.h>

#include "tcp_internal.h"

#define COOKIE_PERIOD_SHIFT 26
#define COOKIE_HASH_MASK    0xffffffu

static const uint16_t mss_table[8] = {536, 1200, 1300, 1360, 1400, 1440, 1452, 1460};

static uint32_t cookie_hash(const struct tcp_worker *w, const struct tcp_seg *s, uint32_t peer_isn,
			    uint32_t t)
{
	uint32_t k[5] = {
	    s->ip->src_addr,
	    s->ip->dst_addr,
	    ((uint32_t)s->th->src_port << 16) | s->th->dst_port,
	    peer_isn,
	    t,
	};

	return rte_jhash_32b(k, 5, w->cfg.cookie_secret[0] ^ (t * 0x9e3779b9u)) ^
	       w->cfg.cookie_secret[1];
}

static uint32_t period(const struct tcp_worker *w)
{
	return (uint32_t)(w->now_us >> COOKIE_PERIOD_SHIFT) & 0x1f;
}

uint32_t cookie_make(const struct tcp_worker *w, const struct tcp_seg *s, uint16_t *mss)
{
	uint16_t peer = s->opt_mss ? s->opt_mss : TCP_DEFAULT_PEER_MSS;
	uint32_t idx = 0, t = period(w);

	for (uint32_t i = 0; i < 8; i++)
		if (mss_table[i] <= peer)
			idx = i;
	*mss = mss_table[idx];
	return (t << 27) | (idx << 24) | (cookie_hash(w, s, s->seq, t) & COOKIE_HASH_MASK);
}

int cookie_check(const struct tcp_worker *w, const struct tcp_seg *s, uint16_t *mss)
{
	uint32_t cookie = s->ack - 1;
	uint32_t t = cookie >> 27, now_t = period(w);

	if (t != now_t && t != ((now_t - 1) & 0x1f))
		return -1;
	if ((cookie_hash(w, s, s->seq - 1, t) & COOKIE_HASH_MASK) != (cookie & COOKIE_HASH_MASK))
		return -1;
	*mss = mss_table[(cookie >> 24) & 7];
	return 0;
}
