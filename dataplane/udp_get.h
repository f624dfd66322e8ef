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

/*
 * Append the reply to get (gets with `cas`) of keys[0..nkeys) at unix time
 * `now` to `r`: a VALUE block per hit, then END. Returns 0 or the reply's
 * error. The keys must not lie in the reply's datagrams.
 */
int udp_get_reply(struct store_thread *t, struct udp_reply *r, const struct proto_span *keys,
		  unsigned nkeys, bool cas, uint32_t now);

#endif
