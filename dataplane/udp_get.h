/*
 * The UDP read path's shortcut: a datagram that is one plain get/gets line
 * (proto_udp_get_scan recognises it) is answered straight from the store into
 * reply datagrams, without the general parser, the executor or an
 * intermediate reply buffer. The bytes are those the executor would send
 * (tests/unit/test_udp_get.c compares the two).
 */
#ifndef DPCACHE_UDP_GET_H
#define DPCACHE_UDP_GET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dpcache/proto.h"
#include "net/udp_reply.h"
#include "store/store.h"
#include "store/store_value.h"
#include "store/store_value_inline.h"

/*
 * memcpy for the short copies of the read path (keys): up to 32 bytes
 * inline, in two pairs of overlapping words; longer ones call memcpy.
 */
static inline void udp_copy_short(char *dst, const char *src, size_t n)
{
	uint64_t a, b, c, d;
	uint32_t e, f;

	if (n > 32) {
		memcpy(dst, src, n);
	} else if (n >= 16) {
		memcpy(&a, src, 8);
		memcpy(&b, src + 8, 8);
		memcpy(&c, src + n - 16, 8);
		memcpy(&d, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + 8, &b, 8);
		memcpy(dst + n - 16, &c, 8);
		memcpy(dst + n - 8, &d, 8);
	} else if (n >= 8) {
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4) {
		memcpy(&e, src, 4);
		memcpy(&f, src + n - 4, 4);
		memcpy(dst, &e, 4);
		memcpy(dst + n - 4, &f, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	}
}

/* "VALUE " key " " flags " " bytes " " cas "\r\n" at its longest */
#define UDP_VALUE_LINE_MAX (6 + PROTO_KEY_MAX + 1 + 10 + 1 + 10 + 1 + 20 + 2)

static const char udp_digit_pairs[201] = "00010203040506070809"
					 "10111213141516171819"
					 "20212223242526272829"
					 "30313233343536373839"
					 "40414243444546474849"
					 "50515253545556575859"
					 "60616263646566676869"
					 "70717273747576777879"
					 "80818283848586878889"
					 "90919293949596979899";

/* Write v in decimal at p; returns the end. */
static inline char *udp_put_u64(char *p, uint64_t v)
{
	unsigned n = 1;
	char *e;

	for (uint64_t x = v; x >= 10; x /= 10)
		n++;
	e = p + n;
	while (v >= 100) {
		e -= 2;
		memcpy(e, udp_digit_pairs + (v % 100) * 2, 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(e - 2, udp_digit_pairs + v * 2, 2);
	else
		e[-1] = (char)('0' + v);
	return p + n;
}

/* The same for the small numbers of most replies (flags, value lengths). */
static inline char *udp_put_u32(char *p, uint32_t v)
{
	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	if (v < 100) {
		memcpy(p, udp_digit_pairs + v * 2, 2);
		return p + 2;
	}
	if (v < 1000) {
		*p = (char)('0' + v / 100);
		memcpy(p + 1, udp_digit_pairs + (v % 100) * 2, 2);
		return p + 3;
	}
	return udp_put_u64(p, v);
}

static inline char *udp_value_line(char *p, struct proto_span key, const struct store_value *v,
				   bool cas)
{
	memcpy(p, "VALUE ", 6);
	p += 6;
	udp_copy_short(p, key.p, key.len);
	p += key.len;
	*p++ = ' ';
	p = udp_put_u32(p, v->flags);
	*p++ = ' ';
	p = udp_put_u32(p, v->value_len);
	if (cas) {
		*p++ = ' ';
		p = udp_put_u64(p, v->cas);
	}
	memcpy(p, "\r\n", 2);
	return p + 2;
}

/*
 * One key's block, written where it starts (a read that starts over comes
 * back there): the VALUE line, the value, "\r\n". Mostly all of it fits the
 * current datagram and goes in place.
 */
struct udp_get_ctx {
	struct udp_reply *r;
	struct udp_reply_mark mark;
	struct proto_span key;
	bool cas;
};

/* udp_put_value when the block does not fit the current datagram: in pieces (udp_get.c). */
int udp_put_value_split(struct udp_get_ctx *g, const struct store_value *v);

static inline __attribute__((always_inline)) int udp_put_value(void *ctx,
							       const struct store_value *v)
{
	struct udp_get_ctx *g = ctx;
	struct udp_reply *r = g->r;
	char *p, *e;

	udp_reply_rewind(r, &g->mark);
	p = udp_reply_reserve(r, UDP_VALUE_LINE_MAX + (size_t)v->value_len + 2);
	if (unlikely(p == NULL))
		return udp_put_value_split(g, v);
	e = udp_value_line(p, g->key, v, g->cas);
	memcpy(e, v->data, v->value_len);
	memcpy(e + v->value_len, "\r\n", 2);
	udp_reply_commit(r, (size_t)(e - p) + v->value_len + 2);
	return 0;
}

/*
 * Append the reply to get (gets with `cas`) of keys[0..nkeys), probed in
 * probes[0..nkeys) (store_probe), at unix time `now` to `r`: a VALUE block
 * per hit, then END. Returns 0 or the reply's error. The keys must not lie in
 * the reply's datagrams. Inline: the pipeline's serve step
 * (udp_service.c) folds it, the store's read and the value callback into
 * one function (scripts/bench.sh udp counts the instructions).
 */
static inline __attribute__((always_inline, no_sanitize("thread"))) int
udp_get_reply(struct store_thread *t, struct udp_reply *r, const struct proto_span *keys,
	      const struct store_probe *probes, unsigned nkeys, bool cas, uint32_t now)
{
	struct udp_get_ctx g;

	g.r = r;
	g.cas = cas;
	for (unsigned i = 0; i < nkeys; i++) {
		g.key = keys[i];
		udp_reply_mark(r, &g.mark);
		if (store_get_value_inline(t, keys[i].p, keys[i].len, &probes[i], now,
					   udp_put_value, &g) != STORE_OK)
			udp_reply_rewind(r, &g.mark);
	}
	return udp_reply_write(r, "END\r\n", 5);
}

#endif
