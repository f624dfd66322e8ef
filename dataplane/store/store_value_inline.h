/*
 * store_get_value() and store_probe() inline, for the one caller where every
 * instruction of a get counts: the UDP get path (dataplane/udp_get.c,
 * dataplane/udp_service.c). Inlined there, a get is one function with its
 * value callback folded in, instead of three calls with their register saves
 * (about 60 instructions of ~800, measured by scripts/bench.sh udp).
 *
 * This header is the store's own read rule, kept in dataplane/store/ with
 * the code it must agree with: it follows read_optimistic() (store.c) step
 * for step (sample the head bucket's version, find the item, copy, check the
 * version; retry, and after a few tries read under the partition lock, in
 * store_value.c). The only way in from outside dataplane/store/ to
 * store_internal.h; everyone else calls store_value.h's functions, which are
 * these, out of line.
 */
#ifndef DPCACHE_STORE_VALUE_INLINE_H
#define DPCACHE_STORE_VALUE_INLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* the same XXH3 as store_hash(), without the call into libxxhash */
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "store_internal.h"
#include "store_value.h"

/*
 * a[0..n) == b[0..n) for a key (n <= STORE_KEY_MAX), rather than a call to
 * memcmp with its register spills: 16 bytes a step through SSE2 (two
 * overlapping steps for 16..32 bytes, the common key), else words, the last
 * one overlapping.
 */
#if defined(__SSE2__)
#include <emmintrin.h>

static inline unsigned sv_eq16(const char *a, const char *b)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)a);
	__m128i y = _mm_loadu_si128((const __m128i *)(const void *)b);

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y));
}
#endif

static inline bool sv_key_equal(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	size_t i;

	if (n < 8)
		return memcmp(a, b, n) == 0;
#if defined(__SSE2__)
	if (n >= 16) {
		for (i = 0; i + 32 < n; i += 16)
			if (sv_eq16(a + i, b + i) != 0xffff)
				return false;
		return (sv_eq16(a + i, b + i) & sv_eq16(a + n - 16, b + n - 16)) == 0xffff;
	}
#endif
	for (i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

/* The item with this key in h's chain, or NULL (no validation yet). */
static inline struct item *sv_find(const struct part *p, struct bucket *b, uint32_t tag,
				   const void *key, size_t klen, uint64_t part_size)
{
	for (unsigned n = 0; b != NULL && n < READ_CHAIN_MAX; n++) {
		for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
			uint64_t sl = __atomic_load_n(&b->slot[i], __ATOMIC_RELAXED);
			uint32_t ref = (uint32_t)sl;
			struct item *it;

			if ((uint32_t)(sl >> 32) != tag || sl == 0 ||
			    ((uint64_t)ref << 3) + ITEM_HDR + klen > part_size)
				continue;
			it = item_at(p, ref);
			if (it->klen == klen && sv_key_equal(item_key(it), key, klen))
				return it;
		}
		uint32_t nx = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE);

		b = nx && nx <= p->nover ? part_over(p, nx) : NULL;
	}
	return NULL;
}

/* Where a lookup stands: the key's partition, head bucket and the bounds of item refs. */
struct sv_lookup {
	struct store *s;
	struct part *p;
	struct bucket *head;
	uint64_t part_size;
	uint32_t tag;
};

/*
 * One optimistic attempt, version sampled by the caller: the outcome, with
 * fn called on a hit (*res STORE_ABORTED if it refused) and *vlen the value
 * length seen. Only valid if the version has not moved since.
 */
static inline __attribute__((always_inline)) enum read_outcome
sv_attempt(const struct sv_lookup *l, const void *key, size_t klen, uint32_t now, store_value_fn fn,
	   void *ctx, struct item **itp, uint32_t *vlen, enum store_result *res)
{
	struct item *it = sv_find(l->p, l->head, l->tag, key, klen, l->part_size);
	uint64_t off;

	*itp = it;
	if (it == NULL)
		return RD_MISS;
	off = (uint64_t)item_ref(l->p, it) << 3;
	*vlen = it->vlen;
	if (off + ITEM_HDR + klen + *vlen > l->part_size ||
	    ITEM_HDR + klen + *vlen > l->s->cfg.item_size_max)
		return RD_MISS; /* a recycled chunk: the version check fails */
	if (it->state & IT_HOLDOFF)
		return RD_MISS;
	if (!item_is_live(l->s, l->p, it, now))
		return it->exptime && it->exptime <= now ? RD_EXPIRED : RD_FLUSHED;
	{
		struct store_value v = {item_value(it), *vlen, it->flags, it->cas};

		if (fn(ctx, &v) != 0)
			*res = STORE_ABORTED;
	}
	return RD_HIT;
}

/* The outcome counted, the access recorded; the result for the caller. */
static inline enum store_result sv_done(struct store_thread *t, const struct sv_lookup *l,
					enum read_outcome out, struct item *it, uint32_t now,
					enum store_result res)
{
	count_read(t, l->p, out);
	if (out != RD_HIT)
		return STORE_NOT_FOUND;
	item_touched(it, now);
	return res;
}

/* After a first attempt that a writer disturbed (store_value.c): the retries. */
enum store_result store_value_retry(struct store_thread *t, const struct sv_lookup *l,
				    const void *key, size_t klen, uint32_t now, store_value_fn fn,
				    void *ctx, bool disturbed, uint32_t vlen);

/* store_probe(), inline. */
static inline __attribute__((always_inline)) void
store_probe_inline(struct store_thread *t, const void *key, size_t klen, struct store_probe *pr)
{
	uint64_t h = XXH3_64bits(key, klen);
	struct part *p = t->s->parts[hash_part(h, t->s->cfg.partitions)];
	struct bucket *b = part_buckets(p) + (h & (p->nbuckets - 1));

	__builtin_prefetch(b);
	pr->part = p;
	pr->bucket = b;
	pr->hash = h;
}

/*
 * store_probe_item(), inline: the first candidate of the head bucket, as
 * sv_find() will meet it (tags rarely collide): its first line, header and
 * key (and the start of the value). An empty slot may pass for a tag of 0: a
 * prefetch of the partition's base, harmless.
 */
static inline void store_probe_item_inline(const struct store_probe *pr)
{
	const struct bucket *b = pr->bucket;
	uint32_t tag = hash_tag(pr->hash);

	for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
		uint64_t sl = __atomic_load_n(&b->slot[i], __ATOMIC_RELAXED);

		if ((uint32_t)(sl >> 32) == tag) {
			__builtin_prefetch(item_at((const struct part *)pr->part, (uint32_t)sl));
			return;
		}
	}
}

/*
 * store_get_value(), inline: with `fn` a function the caller's file defines,
 * the compiler folds it in. Reads item memory that writers may be changing,
 * by design (the version check discards such a read): callers carry
 * no_sanitize("thread") and are named in tests/unit/tsan.supp.
 */
static inline __attribute__((always_inline)) enum store_result
store_get_value_inline(struct store_thread *t, const void *key, size_t klen,
		       const struct store_probe *pr, uint32_t now, store_value_fn fn, void *ctx)
{
	enum store_result res = STORE_OK;
	struct sv_lookup l;
	enum read_outcome out;
	struct item *it;
	uint32_t v1, vlen = 0;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return STORE_BAD_KEY;
	l.s = t->s;
	l.p = pr->part;
	l.head = pr->bucket;
	l.part_size = l.s->hdr->layout.part_size[l.p->id];
	l.tag = hash_tag(pr->hash);
	v1 = __atomic_load_n(&l.head->version, __ATOMIC_ACQUIRE);
	if (__builtin_expect(v1 & 1, 0))
		return store_value_retry(t, &l, key, klen, now, fn, ctx, false, 0);
	out = sv_attempt(&l, key, klen, now, fn, ctx, &it, &vlen, &res);
	if (__builtin_expect(bucket_read_end(l.head) != v1, 0))
		return store_value_retry(t, &l, key, klen, now, fn, ctx, true, vlen);
	return sv_done(t, &l, out, it, now, res);
}

#endif
