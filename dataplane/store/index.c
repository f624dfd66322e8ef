/*
 * The hash index: a power-of-two array of 64-byte buckets per partition,
 * each a seqlock version, an overflow link and 7 slots of (16-bit tag, item
 * ref). Readers walk a chain without a lock and validate with the head
 * bucket's version; writers (under the partition lock) change a chain or one
 * of its items only inside bucket_write_begin/end on the head bucket.
 */
#include "store_internal.h"

struct bucket *index_bucket(const struct part *p, uint64_t h)
{
	return part_buckets(p) + (h & (p->nbuckets - 1));
}

static struct bucket *next_bucket(const struct part *p, const struct bucket *b)
{
	return b->next ? part_over(p, b->next) : NULL;
}

struct item *index_find(struct part *p, uint64_t h, const void *key, size_t klen, uint64_t **slotp)
{
	uint32_t tag = hash_tag(h);
	struct bucket *b;

	for (b = index_bucket(p, h); b; b = next_bucket(p, b)) {
		for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
			uint64_t sl = b->slot[i];
			struct item *it;

			if (!sl || (uint32_t)(sl >> 32) != tag)
				continue;
			it = item_at(p, (uint32_t)sl);
			if (it->klen == klen && memcmp(item_key(it), key, klen) == 0) {
				if (slotp)
					*slotp = &b->slot[i];
				return it;
			}
		}
	}
	return NULL;
}

bool index_insert(struct part *p, uint64_t h, uint32_t ref)
{
	uint64_t sl = (uint64_t)hash_tag(h) << 32 | ref;
	struct bucket *b = index_bucket(p, h), *last = b;

	for (; b; b = next_bucket(p, b)) {
		for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
			if (!b->slot[i]) {
				__atomic_store_n(&b->slot[i], sl, __ATOMIC_RELAXED);
				return true;
			}
		}
		last = b;
	}
	if (!p->over_free)
		return false;
	uint32_t idx = p->over_free;
	struct bucket *nb = part_over(p, idx);

	p->over_free = nb->next;
	memset(nb->slot, 0, sizeof(nb->slot));
	nb->slot[0] = sl;
	nb->next = 0;
	__atomic_store_n(&last->next, idx, __ATOMIC_RELEASE);
	return true;
}

void index_remove(struct part *p, uint64_t h, uint32_t ref)
{
	struct bucket *head = index_bucket(p, h), *prev = NULL, *b;

	for (b = head; b; prev = b, b = next_bucket(p, b)) {
		for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
			if (b->slot[i] && (uint32_t)b->slot[i] == ref) {
				__atomic_store_n(&b->slot[i], 0, __ATOMIC_RELAXED);
				goto empty;
			}
		}
	}
	return;
empty:
	/* Give an emptied overflow bucket back to the pool. */
	if (b == head)
		return;
	for (unsigned i = 0; i < BUCKET_SLOTS; i++)
		if (b->slot[i])
			return;
	uint32_t idx = prev->next;

	__atomic_store_n(&prev->next, b->next, __ATOMIC_RELEASE);
	b->next = p->over_free;
	p->over_free = idx;
}
