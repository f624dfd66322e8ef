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
#include <xxhash.h>

#include "store_internal.h"
#include "store_value.h"

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

__attribute__((no_sanitize("thread"))) enum store_result
store_get_value(struct store_thread *t, const void *key, size_t klen, uint32_t now,
		store_value_fn fn, void *ctx)
{
	struct store *s = t->s;
	struct read_counters *rc;
	struct bucket *head;
	struct part *p;
	uint64_t h, part_size;
	unsigned retries = 0;
	bool locked = false;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return STORE_BAD_KEY;
	h = XXH3_64bits(key, klen);
	p = s->parts[hash_part(h, s->cfg.partitions)];
	head = part_buckets(p) + (h & (p->nbuckets - 1));
	part_size = s->hdr->layout.part_size[p->id];
	rc = &t->rc[p->id];
	for (;;) {
		uint32_t v1 = __atomic_load_n(&head->version, __ATOMIC_ACQUIRE);
		enum store_result res = STORE_OK;
		enum outcome out = OUT_MISS;
		uint32_t vlen = 0;
		struct item *it;

		if (v1 & 1) {
			__builtin_ia32_pause();
			continue;
		}
		it = find(p, head, hash_tag(h), key, klen, part_size);
		if (it != NULL) {
			uint64_t off = (uint64_t)item_ref(p, it) << 3;

			vlen = it->vlen;
			if (off + ITEM_HDR + klen + vlen > part_size ||
			    ITEM_HDR + klen + vlen > s->cfg.item_size_max) {
				out = OUT_MISS; /* a recycled chunk: the version check fails */
			} else if (it->state & IT_HOLDOFF) {
				out = OUT_MISS;
			} else if (!item_is_live(s, p, it, now)) {
				out = it->exptime && it->exptime <= now ? OUT_EXPIRED : OUT_FLUSHED;
			} else {
				struct store_value v = {item_value(it), vlen, it->flags, it->cas};

				out = OUT_HIT;
				if (fn(ctx, &v) != 0)
					res = STORE_ABORTED;
			}
		}
		if (bucket_read_end(head) != v1) {
			CNT_INC(rc->read_retries);
			if (++retries == (vlen > 65536 ? 2 : VALUE_RETRIES_MAX)) {
				part_lock(p);
				locked = true;
			}
			continue;
		}
		if (out == OUT_HIT)
			touched(it, now);
		if (locked)
			part_unlock(p);
		switch (out) {
		case OUT_HIT:
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
}
