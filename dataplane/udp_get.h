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
#include <stdint.h>

#include "dpcache/proto.h"
#include "net/udp_reply.h"
#include "store/store.h"
#include "store/store_value.h"

/*
 * Append the reply to get (gets with `cas`) of keys[0..nkeys) at unix time
 * `now` to `r`: a VALUE block per hit, then END. Returns 0 or the reply's
 * error.
 */
int udp_get_reply(struct store_thread *t, struct udp_reply *r, const struct proto_span *keys,
		  unsigned nkeys, bool cas, uint32_t now);

#endif
