/*
 * store_get_value: store_get() for the UDP read path, where every
 * instruction of a get counts. It follows read_optimistic() (store.c) step
 * for step under the same read rule (sample the head bucket's version, find
 * the item, copy, check the version; retry, and after a few tries read under
 * the partition lock), but fills no store_item_info (flags, length and CAS
 * are all a get/gets reply needs), calls one callback instead of a sink's
 * two, and computes the hash, partition and bucket inline.
 * tests/unit/test_udp_get.c checks it against store_get() through the
 * replies built from each.
 */
/* inlined: the same XXH3 as store_hash(), without the call into libxxhash */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "store_internal.h"
#include "store_value.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

#define VALUE_CHAIN_MAX	  64 /* as READ_CHAIN_MAX */
#define VALUE_RETRIES_MAX 16 /* as READ_RETRIES_MAX */

enum outcome { OUT_HIT, OUT_MISS, OUT_EXPIRED, OUT_FLUSHED };

/*
 * a[0..n) == b[0..n) for a key (n <= STORE_KEY_MAX): words inline, the last
 * one overlapping, rather than a call to memcmp with its register spills.
 */
static inline bool key_equal(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	size_t i;

	if (n < 8)
		return memcmp(a, b, n) == 0;
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
static inline struct item *find(const struct part *p, struct bucket *b, uint32_t tag,
				const void *key, size_t klen, uint64_t part_size)
{
	for (unsigned n = 0; b != NULL && n < VALUE_CHAIN_MAX; n++) {
		for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
			uint64_t sl = __atomic_load_n(&b->slot[i], __ATOMIC_RELAXED);
			uint32_t ref = (uint32_t)sl;
			struct item *it;

			if ((uint32_t)(sl >> 32) != tag || sl == 0 ||
			    ((uint64_t)ref << 3) + ITEM_HDR + klen > part_size)
				continue;
			it = item_at(p, ref);
			if (it->klen == klen && key_equal(item_key(it), key, klen))
				return it;
		}
		uint32_t nx = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE);

		b = nx && nx <= p->nover ? part_over(p, nx) : NULL;
	}
	return NULL;
}

/* As store.c's item_touched: the access time and the active/fetched bits. */
static inline void touched(struct item *it, uint32_t now)
{
	uint8_t f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);

	if (__atomic_load_n(&it->atime, __ATOMIC_RELAXED) != now)
		__atomic_store_n(&it->atime, now, __ATOMIC_RELAXED);
	if ((f & (IF_ACTIVE | IF_FETCHED)) != (IF_ACTIVE | IF_FETCHED))
		__atomic_fetch_or(&it->iflags, IF_ACTIVE | IF_FETCHED, __ATOMIC_RELAXED);
}

/* Where a lookup stands: the key's partition, head bucket and the bounds of item refs. */
struct lookup {
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
static inline __attribute__((always_inline)) enum outcome
attempt(const struct lookup *l, const void *key, size_t klen, uint32_t now, store_value_fn fn,
	void *ctx, struct item **itp, uint32_t *vlen, enum store_result *res)
{
	struct item *it = find(l->p, l->head, l->tag, key, klen, l->part_size);
	uint64_t off;

	*itp = it;
	if (it == NULL)
		return OUT_MISS;
	off = (uint64_t)item_ref(l->p, it) << 3;
	*vlen = it->vlen;
	if (off + ITEM_HDR + klen + *vlen > l->part_size ||
	    ITEM_HDR + klen + *vlen > l->s->cfg.item_size_max)
		return OUT_MISS; /* a recycled chunk: the version check fails */
	if (it->state & IT_HOLDOFF)
		return OUT_MISS;
	if (!item_is_live(l->s, l->p, it, now))
		return it->exptime && it->exptime <= now ? OUT_EXPIRED : OUT_FLUSHED;
	{
		struct store_value v = {item_value(it), *vlen, it->flags, it->cas};

		if (fn(ctx, &v) != 0)
			*res = STORE_ABORTED;
	}
	return OUT_HIT;
}

/* The outcome counted, the access recorded; the result for the caller. */
static inline enum store_result done(struct store_thread *t, const struct lookup *l,
				     enum outcome out, struct item *it, uint32_t now,
				     enum store_result res)
{
	struct read_counters *rc = &t->rc[l->p->id];

	switch (out) {
	case OUT_HIT:
		touched(it, now);
		CNT_INC(rc->get_hits);
		return res;
	case OUT_EXPIRED:
		CNT_INC(rc->get_expired);
		break;
	case OUT_FLUSHED:
		CNT_INC(rc->get_flushed);
		break;
	case OUT_MISS:
		break;
	}
	CNT_INC(rc->get_misses);
	return STORE_NOT_FOUND;
}

/*
 * After a first attempt that a writer disturbed: retry, and after a few
 * tries (two for a large value) read once under the writers' lock, as
 * read_optimistic does.
 */
static __attribute__((noinline, no_sanitize("thread"))) enum store_result
get_value_retry(struct store_thread *t, const struct lookup *l, const void *key, size_t klen,
		uint32_t now, store_value_fn fn, void *ctx, bool disturbed, uint32_t vlen)
{
	unsigned retries = 0;
	bool locked = false;

	for (;;) {
		uint32_t v1;
		enum store_result res = STORE_OK;
		enum outcome out;
		struct item *it;

		if (disturbed) {
			CNT_INC(t->rc[l->p->id].read_retries);
			if (++retries == (vlen > 65536 ? 2 : VALUE_RETRIES_MAX)) {
				part_lock(l->p);
				locked = true;
			}
		}
		v1 = __atomic_load_n(&l->head->version, __ATOMIC_ACQUIRE);
		if (v1 & 1) {
			__builtin_ia32_pause();
			disturbed = false;
			continue;
		}
		out = attempt(l, key, klen, now, fn, ctx, &it, &vlen, &res);
		if (bucket_read_end(l->head) != v1) {
			disturbed = true;
			continue;
		}
		res = done(t, l, out, it, now, res);
		if (locked)
			part_unlock(l->p);
		return res;
	}
}

__attribute__((no_sanitize("thread"))) enum store_result
store_get_value(struct store_thread *t, const void *key, size_t klen, uint32_t now,
		store_value_fn fn, void *ctx)
{
	enum store_result res = STORE_OK;
	struct lookup l;
	enum outcome out;
	struct item *it;
	uint32_t v1, vlen = 0;
	uint64_t h;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return STORE_BAD_KEY;
	h = XXH3_64bits(key, klen);
	l.s = t->s;
	l.p = l.s->parts[hash_part(h, l.s->cfg.partitions)];
	l.head = part_buckets(l.p) + (h & (l.p->nbuckets - 1));
	l.part_size = l.s->hdr->layout.part_size[l.p->id];
	l.tag = hash_tag(h);
	v1 = __atomic_load_n(&l.head->version, __ATOMIC_ACQUIRE);
	if (unlikely(v1 & 1))
		return get_value_retry(t, &l, key, klen, now, fn, ctx, false, 0);
	out = attempt(&l, key, klen, now, fn, ctx, &it, &vlen, &res);
	if (unlikely(bucket_read_end(l.head) != v1))
		return get_value_retry(t, &l, key, klen, now, fn, ctx, true, vlen);
	return done(t, &l, out, it, now, res);
}
