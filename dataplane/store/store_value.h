/**
 * @file store_value.h
 * The store's lean read for get/gets (the UDP read path): store_get()'s
 * semantics (live items only, counted as get_hits/get_misses, the access
 * recorded), told only what a get/gets reply needs, through one callback.
 */
#ifndef DPCACHE_STORE_VALUE_H
#define DPCACHE_STORE_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/** What a get/gets reply needs of an item. `data` is item memory: see store_get_value(). */
struct store_value {
	const void *data; /**< the value, value_len bytes */
	uint32_t value_len;
	uint32_t flags; /**< client flags */
	uint64_t cas;
};

/**
 * Called with the item found; it copies what it needs (the value straight
 * into a packet, say). Like store_sink, it may be called again for the same
 * read (after a concurrent write): a later call must replace what an earlier
 * one wrote. Non-zero aborts the read (STORE_ABORTED).
 */
typedef int (*store_value_fn)(void *ctx, const struct store_value *v);

/**
 * Where a key lives, found ahead of its get (store_probe()): its hash,
 * partition and head bucket. A caller serving a stream of gets probes a key
 * a few requests before reading it, so that the bucket's and the item's
 * cache misses overlap with the work on the requests in between.
 */
struct store_probe {
	void *part;
	void *bucket;
	uint64_t hash; /**< store_hash(key, klen) */
};

/** Probe key (klen bytes): fill `pr` and prefetch the head bucket. */
void store_probe(struct store_thread *t, const void *key, size_t klen, struct store_probe *pr);

/**
 * Once the bucket has had time to arrive: prefetch the first item there whose
 * tag matches the key's (the one store_get_value() will most likely read).
 * A hint: it reads the bucket without synchronisation and changes nothing.
 */
void store_probe_item(const struct store_probe *pr);

/**
 * get/gets of the key probed in `pr` (store_probe(t, key, klen, pr), at any
 * time before: a write in between only makes the prefetches useless) at unix
 * time `now`: as store_get() (STORE_OK, STORE_NOT_FOUND, STORE_BAD_KEY,
 * STORE_ABORTED; hits, misses, expired and flushed counted the same way, the
 * access recorded), with `fn` in place of the sink and no store_item_info.
 */
enum store_result store_get_value(struct store_thread *t, const void *key, size_t klen,
				  const struct store_probe *pr, uint32_t now, store_value_fn fn,
				  void *ctx);

#endif
