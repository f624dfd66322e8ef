/*
 * The store's operations: the lock-free read path and the writers' paths
 * (under the partition lock). See store.h for the contract and
 * store_internal.h for the memory layout.
 *
 * The read rule: a reader samples the head bucket's version (even), finds the
 * item, copies what it needs, then checks that the version did not move. A
 * writer changes a chain, or any field of a linked item a reader uses, only
 * between bucket_write_begin and bucket_write_end on that head bucket, and
 * frees an item's chunk only after removing it from the chain. So a reader
 * whose version check passes saw one consistent item that was linked the
 * whole time; one whose check fails retries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
/* store_hash: XXH3 inline, without the call into libxxhash (same hash) */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "store_internal.h"

/* ------------------------------------------------------------------ */
/* setup                                                              */

static int fill_defaults(struct store_config *c)
{
	if (!c->limit_bytes)
		c->limit_bytes = 64ull << 20;
	if (!c->item_size_max)
		c->item_size_max = 1u << 20;
	if (c->growth_factor == 0)
		c->growth_factor = 1.25;
	if (!c->chunk_min)
		c->chunk_min = 48;
	if (!c->partitions)
		c->partitions = 1;
	if (!c->threads)
		c->threads = c->partitions;
	if (c->growth_factor <= 1.0 || c->chunk_min < 48 || c->item_size_max < 1024 ||
	    c->item_size_max > (1u << 30) || c->partitions > STORE_PARTITIONS_MAX ||
	    c->threads > STORE_THREADS_MAX || c->transient_ttl_max >= TRANSIENT_RING_MAX ||
	    (c->buckets & (c->buckets - 1)))
		return -EINVAL;
	c->item_size_max = (c->item_size_max + 7) & ~7u;
	if (c->limit_bytes / c->item_size_max < c->partitions)
		return -EINVAL; /* every partition needs at least one page */
	return 0;
}

int store_setup(const struct store_config *cfg, struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->cfg = *cfg;
	rc = fill_defaults(&s->cfg);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	if (posix_memalign((void **)&s->threads, 64, sizeof(*s->threads) * s->cfg.threads))
		goto fail;
	memset(s->threads, 0, sizeof(*s->threads) * s->cfg.threads);
	for (unsigned i = 0; i < s->cfg.threads; i++) {
		s->threads[i].s = s;
		s->threads[i].tid = i;
	}
	rc = arena_open(s);
	if (rc) {
		arena_close(s, false);
		goto fail;
	}
	slab_class_table(s);
	*out = s;
	return 0;
fail:
	free(s->threads);
	free(s);
	return rc;
}

void store_teardown(struct store *s, bool clean)
{
	if (!s)
		return;
	arena_close(s, clean);
	free(s->threads);
	free(s);
}

bool store_reattached(const struct store *s)
{
	return s->reattached;
}

const struct store_config *store_config(const struct store *s)
{
	return &s->cfg;
}

struct store_thread *store_thread(struct store *s, unsigned tid)
{
	return tid < s->cfg.threads ? &s->threads[tid] : NULL;
}

uint64_t store_hash(const void *key, size_t klen)
{
	return XXH3_64bits(key, klen);
}

unsigned store_partition_of(const struct store *s, const void *key, size_t klen)
{
	return hash_part(store_hash(key, klen), s->cfg.partitions);
}

void store_prefetch(struct store_thread *t, uint64_t h, bool item)
{
	struct part *p = t->s->parts[hash_part(h, t->s->cfg.partitions)];
	struct bucket *b = index_bucket(p, h);

	if (!item) {
		__builtin_prefetch(b);
		return;
	}
	/* The first item with the key's tag: almost always the key's own. */
	for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
		uint64_t sl = __atomic_load_n(&b->slot[i], __ATOMIC_RELAXED);

		if (sl && (uint32_t)(sl >> 32) == hash_tag(h)) {
			__builtin_prefetch(item_at(p, (uint32_t)sl));
			return;
		}
	}
}

unsigned store_partitions(const struct store *s)
{
	return s->cfg.partitions;
}

uint32_t store_page_size(const struct store *s)
{
	return s->cfg.item_size_max;
}

uint32_t store_exptime(int64_t exptime, uint32_t now)
{
	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1; /* long past: expired */
	if (exptime <= STORE_REALTIME_MAXDELTA)
		return now + (uint32_t)exptime;
	if (exptime > UINT32_MAX)
		return UINT32_MAX;
	return exptime <= 1 ? 1 : (uint32_t)exptime;
}

static inline struct part *part_for(struct store *s, uint64_t h)
{
	return s->parts[hash_part(h, s->cfg.partitions)];
}

static inline bool key_ok(size_t klen)
{
	return klen > 0 && klen <= STORE_KEY_MAX;
}

/* ------------------------------------------------------------------ */
/* sinks                                                              */

static int buf_begin(void *ctx, const struct store_item_info *info)
{
	struct store_buf *b = ctx;

	b->len = info->value_len;
	return info->value_len > b->cap ? -1 : 0;
}

static int buf_copy(void *ctx, uint32_t off, const void *src, uint32_t len)
{
	struct store_buf *b = ctx;

	memcpy((char *)b->buf + off, src, len);
	return 0;
}

void store_sink_buf(struct store_sink *sink, struct store_buf *b, void *buf, uint32_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	sink->begin = buf_begin;
	sink->copy = buf_copy;
	sink->ctx = b;
}

/* ------------------------------------------------------------------ */
/* the optimistic read                                                */

static void fill_info(const struct item *it, uint32_t now, struct store_item_info *info)
{
	uint32_t at = __atomic_load_n(&it->atime, __ATOMIC_RELAXED);

	memset(info, 0, sizeof(*info));
	info->flags = it->flags;
	info->value_len = it->vlen;
	info->cas = it->cas;
	info->exptime = it->exptime;
	info->ttl = it->exptime ? (it->exptime > now ? (int64_t)(it->exptime - now) : 0) : -1;
	info->last_access = now > at ? now - at : 0;
	info->fetched = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED) & IF_FETCHED;
	info->stale = it->state & IT_STALE;
	info->win_sent = it->state & IT_TOKEN;
	info->key_binary = it->state & IT_BINKEY;
	info->slab_class = it->cls;
	info->item_size = item_total(it->klen, it->vlen);
}

static enum store_result copy_value(struct item *it, const struct store_sink *sink,
				    const struct store_item_info *info)
{
	if (!sink)
		return STORE_OK;
	if (sink->begin && sink->begin(sink->ctx, info))
		return STORE_ABORTED;
	if (info->value_len && sink->copy(sink->ctx, 0, item_value(it), info->value_len))
		return STORE_ABORTED;
	return STORE_OK;
}

/*
 * Read the item for key h/key without a lock. On RD_HIT, info is filled, the
 * value copied to sink (unless NULL) and *state is the item's state; *res
 * tells whether the sink aborted. Retries until a consistent view.
 */
__attribute__((no_sanitize("thread"))) static enum read_outcome
read_optimistic(struct store_thread *t, struct part *p, uint64_t h, const void *key, size_t klen,
		uint32_t now, const struct store_sink *sink, struct store_item_info *info,
		uint8_t *state, enum store_result *res, bool bump)
{
	struct store *s = t->s;
	uint64_t part_size = s->hdr->layout.part_size[p->id];
	uint32_t tag = hash_tag(h);
	struct bucket *head = index_bucket(p, h);
	unsigned retries = 0;
	bool locked = false;

	for (;;) {
		uint32_t v1 = __atomic_load_n(&head->version, __ATOMIC_ACQUIRE);
		enum read_outcome out = RD_MISS;
		struct item *found = NULL;
		struct bucket *b = head;

		if (v1 & 1) {
			__builtin_ia32_pause();
			continue;
		}
		for (unsigned n = 0; b && n < READ_CHAIN_MAX && !found; n++) {
			for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
				uint64_t sl = __atomic_load_n(&b->slot[i], __ATOMIC_RELAXED);
				uint32_t ref = (uint32_t)sl;
				struct item *it;

				if (!sl || (uint32_t)(sl >> 32) != tag ||
				    ((uint64_t)ref << 3) + ITEM_HDR + klen > part_size)
					continue;
				it = item_at(p, ref);
				if (it->klen == klen && memcmp(item_key(it), key, klen) == 0) {
					found = it;
					break;
				}
			}
			uint32_t nx = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE);

			b = nx && nx <= p->nover ? part_over(p, nx) : NULL;
		}
		*res = STORE_OK;
		if (found) {
			uint64_t off = (uint64_t)item_ref(p, found) << 3;

			*state = found->state;
			fill_info(found, now, info);
			if (off + ITEM_HDR + klen + info->value_len > part_size ||
			    ITEM_HDR + klen + info->value_len > s->cfg.item_size_max) {
				out = RD_MISS; /* garbage from a recycled chunk: the check below
						  fails */
			} else if (*state & IT_HOLDOFF) {
				out = RD_MISS;
			} else if (!item_is_live(s, p, found, now)) {
				out = found->exptime && found->exptime <= now ? RD_EXPIRED
									      : RD_FLUSHED;
			} else {
				out = RD_HIT;
				*res = copy_value(found, sink, info);
			}
		}
		if (bucket_read_end(head) != v1) {
			CNT_INC(t->rc[p->id].read_retries);
			/*
			 * A long copy (a 1 MB value) under a key rewritten faster
			 * than it can be copied would retry forever: after a few
			 * tries (two for a large value), read once under the
			 * writers' lock.
			 */
			if (++retries == (info->value_len > 65536 ? 2 : READ_RETRIES_MAX)) {
				part_lock(p);
				locked = true;
			}
			continue;
		}
		if (out == RD_HIT && bump)
			item_touched(found, now);
		if (locked)
			part_unlock(p);
		return out;
	}
}

enum store_result store_get(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			    const struct store_sink *sink, struct store_item_info *info)
{
	if (!key_ok(klen))
		return STORE_BAD_KEY;
	return store_get_hashed(t, store_hash(key, klen), key, klen, now, sink, info);
}

enum store_result store_get_hashed(struct store_thread *t, uint64_t h, const void *key, size_t klen,
				   uint32_t now, const struct store_sink *sink,
				   struct store_item_info *info)
{
	struct store_item_info tmp;
	enum store_result res;
	enum read_outcome o;
	uint8_t state;

	if (!key_ok(klen))
		return STORE_BAD_KEY;
	struct part *p = part_for(t->s, h);

	o = read_optimistic(t, p, h, key, klen, now, sink, info ? info : &tmp, &state, &res, true);
	count_read(t, p, o);
	if (o != RD_HIT)
		return STORE_NOT_FOUND;
	return res;
}

/* ------------------------------------------------------------------ */
/* writer helpers (partition lock held)                               */

static uint64_t next_cas(struct store *s, struct part *p)
{
	uint64_t c = p->next_cas;

	p->next_cas += s->cfg.partitions;
	return c;
}

/* Account an item that left the index and free its chunk. */
static void item_release(struct store *s, struct part *p, struct item *it, uint32_t now,
			 enum unlink_why why)
{
	struct slab_class *sc = &p->cls[it->cls];
	uint32_t total = item_total(it->klen, it->vlen);
	bool fetched = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED) & IF_FETCHED;

	lru_unlink(s, p, it);
	it->state &= (uint8_t)~IT_LINKED;
	CNT_ADD(p->c.curr_items, -1);
	CNT_ADD(p->c.bytes, -(uint64_t)total);
	sc->requested -= total;
	if (why == UNLINK_EXPIRED) {
		CNT_INC(p->c.reclaimed);
		CNT_INC(sc->c.reclaimed);
		if (!fetched) {
			CNT_INC(p->c.expired_unfetched);
			CNT_INC(sc->c.expired_unfetched);
		}
	} else if (why == UNLINK_MOVE) {
		CNT_INC(p->c.slab_reassign_evictions);
	} else if (why == UNLINK_EVICT) {
		CNT_INC(p->c.evictions);
		CNT_INC(sc->c.evicted);
		if (it->exptime)
			CNT_INC(sc->c.evicted_nonzero);
		uint32_t at = __atomic_load_n(&it->atime, __ATOMIC_RELAXED);

		sc->c.evicted_time = now > at ? now - at : 0;
		if (!fetched) {
			CNT_INC(p->c.evicted_unfetched);
			CNT_INC(sc->c.evicted_unfetched);
		}
	}
	slab_free(s, p, it);
}

void item_unlink_free(struct store *s, struct part *p, struct item *it, uint32_t now,
		      enum unlink_why why)
{
	uint64_t h = store_hash(item_key(it), it->klen);
	struct bucket *b = index_bucket(p, h);

	bucket_write_begin(b);
	index_remove(p, h, item_ref(p, it));
	bucket_write_end(b);
	item_release(s, p, it, now, why);
}

/*
 * The linked item for key (expired ones are reclaimed on the way), or NULL;
 * with slotp, also its index slot (NULL with no item).
 */
static struct item *find_live_slot(struct store *s, struct part *p, uint64_t h, const void *key,
				   size_t klen, uint32_t now, uint64_t **slotp)
{
	struct item *it = index_find(p, h, key, klen, slotp);

	if (it && !item_is_live(s, p, it, now)) {
		item_unlink_free(s, p, it, now, UNLINK_EXPIRED);
		it = NULL;
	}
	if (slotp != NULL && it == NULL)
		*slotp = NULL;
	return it;
}

static struct item *find_live(struct store *s, struct part *p, uint64_t h, const void *key,
			      size_t klen, uint32_t now)
{
	return find_live_slot(s, p, h, key, klen, now, NULL);
}

/* A fresh unlinked item with the key copied in; NULL if no memory. */
static struct item *item_new(struct store *s, struct part *p, const void *key, size_t klen,
			     uint32_t vlen, uint32_t now, enum store_result *err)
{
	uint32_t total = item_total((uint32_t)klen, vlen);
	unsigned cls = slab_class_for(s, total);
	struct item *it;

	if (!cls) {
		*err = STORE_TOO_LARGE;
		return NULL;
	}
	it = slab_alloc(s, p, cls, now);
	if (!it) {
		*err = STORE_NO_MEMORY;
		return NULL;
	}
	it->prev = it->next = 0;
	it->klen = (uint8_t)klen;
	it->vlen = vlen;
	it->flags = 0;
	it->exptime = 0;
	__atomic_store_n(&it->atime, now, __ATOMIC_RELAXED);
	it->cas = 0;
	memcpy(it->data, key, klen);
	p->cls[cls].requested += total;
	return it;
}

/* Link `it` (replacing `old`, which must be linked under the same key, if not NULL). */
/*
 * Link `it` in place of `old` (the item the index holds for the key, or
 * NULL); `slot` is old's index slot if the caller has it from its own
 * lookup (NULL: found here).
 */
static void item_link_at(struct store *s, struct part *p, uint64_t h, struct item *it,
			 struct item *old, uint64_t *slot, uint32_t now)
{
	struct bucket *b = index_bucket(p, h);
	uint32_t ref = item_ref(p, it);

	it->state = (it->state & (IT_STALE | IT_TOKEN | IT_HOLDOFF | IT_BINKEY)) | IT_LINKED;
	if (old) {
		if (slot == NULL)
			index_find(p, h, item_key(old), old->klen, &slot);
		bucket_write_begin(b);
		__atomic_store_n(slot, (uint64_t)hash_tag(h) << 32 | ref, __ATOMIC_RELAXED);
		bucket_write_end(b);
		item_release(s, p, old, now, UNLINK_REPLACE);
	} else {
		bool ok;

		bucket_write_begin(b);
		ok = index_insert(p, h, ref);
		bucket_write_end(b);
		if (!ok) {
			/* Chain and overflow pool full: evict the chain's first item. */
			struct item *victim = item_at(p, (uint32_t)b->slot[0]);

			item_unlink_free(s, p, victim, now, UNLINK_EVICT);
			bucket_write_begin(b);
			index_insert(p, h, ref);
			bucket_write_end(b);
		}
	}
	lru_link(s, p, it, now);
	CNT_INC(p->c.curr_items);
	CNT_INC(p->c.total_items);
	CNT_ADD(p->c.bytes, item_total(it->klen, it->vlen));
}

static void item_link(struct store *s, struct part *p, uint64_t h, struct item *it,
		      struct item *old, uint32_t now)
{
	item_link_at(s, p, h, it, old, NULL, now);
}

/* Abandon an unlinked item from item_new. */
static void item_drop(struct store *s, struct part *p, struct item *it)
{
	p->cls[it->cls].requested -= item_total(it->klen, it->vlen);
	slab_free(s, p, it);
}

/* ------------------------------------------------------------------ */
/* storage                                                            */

/*
 * An item's size in memcached's arithmetic (48-byte header, 8 of CAS, the
 * key and its NUL, the value and its CRLF, 4 for non-zero client flags): what
 * its limits (-I, the 512 KB largest slab chunk) are checked against.
 */
#define MC_SLAB_CHUNK_MAX 524288u

static uint64_t mc_item_size(uint32_t klen, uint32_t vlen, uint32_t flags)
{
	return 48u + 8u + klen + 1u + (uint64_t)vlen + 2u + (flags ? 4u : 0u);
}

/* memcached stores such an item in chunks, and does no arithmetic on it. */
static bool mc_chunked(const struct item *it)
{
	return mc_item_size(it->klen, it->vlen, it->flags) > MC_SLAB_CHUNK_MAX;
}

/*
 * Decide a storage command against `old` (the live item or NULL); on
 * STORE_STORED fills in the new item's header from args/old. `value` may be
 * NULL when the new item already holds the value (store_commit).
 */
static enum store_result store_locked(struct store *s, struct part *p, uint64_t h, const void *key,
				      size_t klen, const void *value, uint32_t vlen,
				      struct item *pending, uint32_t now,
				      const struct store_set_args *a, uint64_t *cas_out)
{
	uint64_t *slot = NULL; /* old's index slot */
	struct item *old = find_live_slot(s, p, h, key, klen, now, &slot);
	uint64_t items = CNT_GET(p->c.curr_items);
	bool holdoff = old && (old->state & IT_HOLDOFF);

	/* A replaced item leaves its LRU list: warm its neighbours meanwhile. */
	if (old && old->prev)
		__builtin_prefetch(item_at(p, old->prev));
	if (old && old->next)
		__builtin_prefetch(item_at(p, old->next));
	bool stale_store = false;
	enum store_result err = STORE_NO_MEMORY;
	struct item *it;

	CNT_INC(p->c.cmd_set);
	switch (a->op) {
	case STORE_OP_SET:
		break;
	case STORE_OP_ADD:
		if (old)
			return STORE_NOT_STORED;
		break;
	case STORE_OP_REPLACE:
	case STORE_OP_APPEND:
	case STORE_OP_PREPEND:
		if (!old || holdoff)
			return STORE_NOT_STORED;
		/* memcached: an append/prepend that carries a CAS must match it */
		if (a->op != STORE_OP_REPLACE && a->cas && a->cas != old->cas)
			return STORE_EXISTS;
		break;
	case STORE_OP_CAS:
		if (!old || holdoff) {
			CNT_INC(p->c.cas_misses);
			return STORE_NOT_FOUND;
		}
		if (old->cas != a->cas) {
			/* ms I with an older CAS; memcached takes C0 as no CAS: EXISTS */
			if (!(a->set_stale && a->cas && a->cas < old->cas)) {
				CNT_INC(p->c.cas_badval);
				return STORE_EXISTS;
			}
			stale_store = true;
		}
		CNT_INC(p->c.cas_hits);
		break;
	}
	if (a->op == STORE_OP_APPEND || a->op == STORE_OP_PREPEND) {
		uint32_t ov = old->vlen, total = ov + vlen;
		uint32_t ocls = old->cls;

		/* memcached cannot allocate the joined item past -I: NOT_STORED */
		if (mc_item_size((uint32_t)klen, total, old->flags) > s->cfg.item_size_max)
			return STORE_NOT_STORED; /* store_commit frees a pending item */
		it = item_new(s, p, key, klen, total, now, &err);
		/* The allocation may have evicted old: look again. */
		if (it && index_find(p, h, key, klen, NULL) != old) {
			item_drop(s, p, it);
			return STORE_NOT_STORED;
		}
		if (!it)
			return err == STORE_TOO_LARGE ? STORE_TOO_LARGE : STORE_NO_MEMORY;
		(void)ocls;
		const char *nv = value ? value : item_value(pending);

		if (a->op == STORE_OP_APPEND) {
			memcpy(item_value(it), item_value(old), ov);
			memcpy(item_value(it) + ov, nv, vlen);
		} else {
			memcpy(item_value(it), nv, vlen);
			memcpy(item_value(it) + vlen, item_value(old), ov);
		}
		it->flags = old->flags;
		it->exptime = old->exptime;
		if (pending)
			item_drop(s, p, pending);
	} else if (pending) {
		it = pending;
		it->state = 0;
	} else {
		it = item_new(s, p, key, klen, vlen, now, &err);
		if (!it) {
			if (err == STORE_TOO_LARGE && a->op == STORE_OP_SET && old)
				item_unlink_free(s, p, old, now, UNLINK_DELETE);
			return err;
		}
		memcpy(item_value(it), value, vlen);
	}
	if (a->op != STORE_OP_APPEND && a->op != STORE_OP_PREPEND) {
		it->flags = a->flags;
		it->exptime = store_exptime(a->exptime, now);
		if (a->key_binary)
			it->state |= IT_BINKEY;
		/*
		 * What the index holds now: the allocation may have evicted old,
		 * or others. Every unlink goes through item_release, which counts
		 * curr_items down, and nothing links in between: an unchanged
		 * count is an unchanged index, and old and its slot still hold.
		 */
		if (CNT_GET(p->c.curr_items) != items)
			old = index_find(p, h, key, klen, &slot);
	}
	if (stale_store && old) {
		/* ms I with an older CAS: keep the TTL, mark stale, keep the token state. */
		it->exptime = old->exptime;
		it->state |= IT_STALE | (old->state & IT_TOKEN);
	}
	it->cas = a->new_cas ? a->new_cas : next_cas(s, p);
	__atomic_store_n(&it->atime, now, __ATOMIC_RELAXED);
	CNT_INC(p->cls[it->cls].c.cmd_set);
	item_link_at(s, p, h, it, old, slot, now);
	if (cas_out)
		*cas_out = it->cas;
	return STORE_STORED;
}

enum store_result store_set(struct store_thread *t, const void *key, size_t klen, const void *value,
			    uint32_t vlen, uint32_t now, const struct store_set_args *args,
			    uint64_t *cas_out)
{
	if (!key_ok(klen))
		return STORE_BAD_KEY;
	return store_set_hashed(t, store_hash(key, klen), key, klen, value, vlen, now, args,
				cas_out);
}

enum store_result store_set_hashed(struct store_thread *t, uint64_t h, const void *key, size_t klen,
				   const void *value, uint32_t vlen, uint32_t now,
				   const struct store_set_args *args, uint64_t *cas_out)
{
	struct store *s = t->s;
	enum store_result r;

	if (!key_ok(klen))
		return STORE_BAD_KEY;
	struct part *p = part_for(s, h);

	part_lock(p);
	r = store_locked(s, p, h, key, klen, value, vlen, NULL, now, args, cas_out);
	part_unlock(p);
	return r;
}

enum store_result store_reserve(struct store_thread *t, const void *key, size_t klen, uint32_t vlen,
				uint32_t now, struct store_pending *pd)
{
	struct store *s = t->s;
	enum store_result err = STORE_NO_MEMORY;
	struct item *it;
	uint64_t h;

	if (!key_ok(klen))
		return STORE_BAD_KEY;
	h = store_hash(key, klen);
	struct part *p = part_for(s, h);

	part_lock(p);
	it = item_new(s, p, key, klen, vlen, now, &err);
	if (it)
		it->state = IT_PENDING;
	part_unlock(p);
	if (!it)
		return err;
	pd->s = s;
	pd->part = p->id;
	pd->off = (uint64_t)((char *)it - s->base);
	pd->hash = h;
	pd->vlen = vlen;
	return STORE_OK;
}

void *store_pending_data(const struct store_pending *pd)
{
	return item_value((struct item *)(pd->s->base + pd->off));
}

void store_pending_write(const struct store_pending *pd, uint32_t off, const void *src,
			 uint32_t len)
{
	memcpy((char *)store_pending_data(pd) + off, src, len);
}

enum store_result store_commit(struct store_thread *t, struct store_pending *pd, uint32_t now,
			       const struct store_set_args *args, uint64_t *cas_out)
{
	struct store *s = t->s;
	struct part *p = s->parts[pd->part];
	struct item *it = (struct item *)(s->base + pd->off);
	enum store_result r;

	part_lock(p);
	r = store_locked(s, p, pd->hash, item_key(it), it->klen, NULL, pd->vlen, it, now, args,
			 cas_out);
	if (r != STORE_STORED && (it->state & IT_PENDING))
		item_drop(s, p, it);
	part_unlock(p);
	pd->off = 0;
	return r;
}

void store_abort(struct store_thread *t, struct store_pending *pd)
{
	struct part *p;
	struct item *it;

	if (!pd->off)
		return;
	p = t->s->parts[pd->part];
	it = (struct item *)(t->s->base + pd->off);
	part_lock(p);
	item_drop(t->s, p, it);
	part_unlock(p);
	pd->off = 0;
}

/* ------------------------------------------------------------------ */
/* delete, touch                                                      */

/* Change a linked item's exptime (relinking it if it moves in or out of the transient ring). */
static void set_exptime(struct store *s, struct part *p, struct bucket *b, struct item *it,
			uint32_t exptime, uint32_t now)
{
	lru_unlink(s, p, it);
	bucket_write_begin(b);
	it->exptime = exptime;
	bucket_write_end(b);
	lru_link(s, p, it, now);
}

enum store_result store_delete(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			       const struct store_delete_args *a)
{
	static const struct store_delete_args none;
	struct store *s = t->s;
	enum store_result r = STORE_OK, err;
	struct item *it;
	uint64_t h;

	if (!key_ok(klen))
		return STORE_BAD_KEY;
	if (!a)
		a = &none;
	h = store_hash(key, klen);
	struct part *p = part_for(s, h);
	struct bucket *b = index_bucket(p, h);

	part_lock(p);
	it = find_live(s, p, h, key, klen, now);
	if (it && (it->state & IT_HOLDOFF) && !a->holdoff)
		it = NULL;
	if (!it && !a->holdoff) {
		CNT_INC(p->c.delete_misses);
		r = STORE_NOT_FOUND;
		goto out;
	}
	if (it && (a->cas || a->has_cas) && it->cas != a->cas) {
		r = STORE_EXISTS;
		goto out;
	}
	if (a->holdoff) {
		/* Tombstone: misses on reads, makes add fail until it expires. */
		struct item *ts = item_new(s, p, key, klen, 0, now, &err);

		it = index_find(p, h, key, klen, NULL); /* the allocation may have evicted it */
		r = it && !(it->state & IT_HOLDOFF) ? STORE_OK : STORE_NOT_FOUND;
		CNT_INC(*(r == STORE_OK ? &p->c.delete_hits : &p->c.delete_misses));
		if (!ts) {
			if (it)
				item_unlink_free(s, p, it, now, UNLINK_DELETE);
			goto out;
		}
		ts->state = IT_HOLDOFF;
		ts->exptime = now + a->holdoff;
		ts->cas = next_cas(s, p);
		item_link(s, p, h, ts, it, now);
		goto out;
	}
	CNT_INC(p->c.delete_hits);
	if (a->invalidate) {
		uint32_t exp = a->set_exptime ? store_exptime(a->exptime, now) : it->exptime;

		lru_unlink(s, p, it);
		bucket_write_begin(b);
		it->state = (uint8_t)((it->state | IT_STALE) & ~IT_TOKEN);
		it->cas = next_cas(s, p);
		it->exptime = exp;
		bucket_write_end(b);
		lru_link(s, p, it, now);
		goto out;
	}
	item_unlink_free(s, p, it, now, UNLINK_DELETE);
out:
	part_unlock(p);
	return r;
}

enum store_result store_touch(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			      int64_t exptime)
{
	struct store *s = t->s;
	struct item *it;
	uint64_t h;

	if (!key_ok(klen))
		return STORE_BAD_KEY;
	h = store_hash(key, klen);
	struct part *p = part_for(s, h);

	part_lock(p);
	CNT_INC(p->c.cmd_touch);
	it = find_live(s, p, h, key, klen, now);
	if (!it || (it->state & IT_HOLDOFF)) {
		CNT_INC(p->c.touch_misses);
		part_unlock(p);
		return STORE_NOT_FOUND;
	}
	CNT_INC(p->c.touch_hits);
	set_exptime(s, p, index_bucket(p, h), it, store_exptime(exptime, now), now);
	item_touched(it, now);
	part_unlock(p);
	return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* meta get                                                           */

/* The paper's lease rate limit: may this key be given a win now? */
static bool lease_allow(struct store *s, struct part *p, uint64_t h, uint32_t now)
{
	struct lease_slot *ls = &p->lease[h % LEASE_SLOTS];

	if (!s->cfg.lease_ttl)
		return true;
	if (ls->hash == h && now - ls->time < s->cfg.lease_ttl)
		return false;
	ls->hash = h;
	ls->time = now;
	return true;
}

/*
 * A lease win: a stale item, or (mg R) one whose TTL is below the recache
 * TTL, looked at after the touch when T came before R (memcached walks the
 * flags in order).
 */
static bool wants_win(const struct store_get_args *a, const struct store_item_info *info,
		      uint32_t now)
{
	int64_t ttl = info->ttl;

	if (info->win_sent || (a && a->no_lease))
		return false;
	if (info->stale)
		return true;
	if (!a || !a->recache)
		return false;
	if (a->touch && a->recache_after_touch) {
		uint32_t e = store_exptime(a->exptime, now);

		ttl = e == 0 ? -1 : (e > now ? (int64_t)(e - now) : 0);
	}
	return ttl >= 0 && ttl < (int64_t)a->recache_ttl;
}

/*
 * The meta get that may change the item (touch, vivify, a lease win), under
 * the partition lock. `first`: what an optimistic read of this same request
 * saw before it bumped the item (its h and l are the ones to report).
 */
static enum store_result mget_locked(struct store_thread *t, struct part *p, uint64_t h,
				     const void *key, size_t klen, uint32_t now,
				     const struct store_get_args *a, const struct store_sink *sink,
				     struct store_item_info *info,
				     const struct store_item_info *first)
{
	struct store *s = t->s;
	struct bucket *b = index_bucket(p, h);
	enum store_result r, err;
	struct item *it;

	part_lock(p);
	it = find_live(s, p, h, key, klen, now);
	if (!it || (it->state & IT_HOLDOFF)) {
		CNT_INC(t->rc[p->id].get_misses);
		if (a->touch) {
			CNT_INC(p->c.cmd_touch);
			CNT_INC(p->c.touch_misses);
		}
		if (!a->vivify) {
			r = STORE_NOT_FOUND;
			goto out;
		}
		struct item *nv = item_new(s, p, key, klen, 0, now, &err);

		if (!nv) {
			r = err;
			goto out;
		}
		it = index_find(p, h, key, klen, NULL);
		nv->exptime = store_exptime(a->vivify_exptime, now);
		nv->state = IT_TOKEN;
		nv->cas = next_cas(s, p);
		item_link(s, p, h, nv, it, now);
		fill_info(nv, now, info);
		info->win = lease_allow(s, p, h, now);
		info->win_sent = !info->win;
		info->created = true;
		r = copy_value(nv, sink, info);
		/* memcached bumps the new item after its reply: the next mg sees h1 */
		if (!a->no_bump)
			item_touched(nv, now);
		goto out;
	}
	CNT_INC(t->rc[p->id].get_hits);
	fill_info(it, now, info);
	if (first) {
		info->fetched = first->fetched;
		info->last_access = first->last_access;
	}
	if (wants_win(a, info, now)) {
		if (lease_allow(s, p, h, now)) {
			bucket_write_begin(b);
			it->state |= IT_TOKEN;
			bucket_write_end(b);
			info->win = true;
		} else {
			info->win_sent = true;
		}
	}
	if (a->touch) {
		CNT_INC(p->c.cmd_touch);
		CNT_INC(p->c.touch_hits);
		set_exptime(s, p, b, it, store_exptime(a->exptime, now), now);
	}
	r = copy_value(it, sink, info);
	if (!a->no_bump)
		item_touched(it, now);
out:
	part_unlock(p);
	return r;
}

enum store_result store_mget(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			     const struct store_get_args *a, const struct store_sink *sink,
			     struct store_item_info *info)
{
	static const struct store_get_args none;
	struct store_item_info tmp;
	enum store_result res;
	enum read_outcome o;
	uint8_t state;
	uint64_t h;

	if (!key_ok(klen))
		return STORE_BAD_KEY;
	if (!a)
		a = &none;
	if (!info)
		info = &tmp;
	h = store_hash(key, klen);
	struct part *p = part_for(t->s, h);

	if (a->touch || a->vivify)
		return mget_locked(t, p, h, key, klen, now, a, sink, info, NULL);
	o = read_optimistic(t, p, h, key, klen, now, sink, info, &state, &res, !a->no_bump);
	if (o == RD_HIT && wants_win(a, info, now)) {
		struct store_item_info first = *info;

		return mget_locked(t, p, h, key, klen, now, a, sink, info, &first);
	}
	count_read(t, p, o);
	return o == RD_HIT ? res : STORE_NOT_FOUND;
}

/* ------------------------------------------------------------------ */
/* incr / decr                                                        */

/*
 * memcached's safe_strtoull on a value, quirks included: strtoull's leading
 * whitespace and sign, at least one digit, no overflow, then only the first
 * character after the number is checked (whitespace, a NUL or the end: "12 ab"
 * and "12\0ab" are 12); a result of 2^63 or more is refused if a '-' appears
 * in the value (memcached looks with strchr, so anywhere after it too), so
 * "-0" is 0 and "-18446744073709551615" is 1.
 */
static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool parse_u64(const char *v, uint32_t len, uint64_t *out)
{
	uint64_t x = 0;
	uint32_t i = 0, digits = 0;
	bool neg = false;

	while (i < len && is_space(v[i]))
		i++;
	if (i < len && (v[i] == '+' || v[i] == '-'))
		neg = v[i++] == '-';
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++, digits++) {
		unsigned d = (unsigned)(v[i] - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false; /* ERANGE */
		x = x * 10 + d;
	}
	if (!digits || (i < len && !is_space(v[i]) && v[i] != '\0'))
		return false;
	if (neg)
		x = -x;
	if ((int64_t)x < 0 && memchr(v, '-', len))
		return false;
	*out = x;
	return true;
}

enum store_result store_arith(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			      const struct store_arith_args *a, uint64_t *value_out,
			      struct store_item_info *info)
{
	struct store *s = t->s;
	enum store_result r = STORE_OK, err;
	struct store_item_info tmp;
	char num[24];
	struct item *it;
	uint64_t h, v;
	uint32_t vlen_old;
	int n;

	if (!key_ok(klen))
		return STORE_BAD_KEY;
	if (!info)
		info = &tmp;
	h = store_hash(key, klen);
	struct part *p = part_for(s, h);
	struct bucket *b = index_bucket(p, h);

	part_lock(p);
	it = find_live(s, p, h, key, klen, now);
	if (it && (it->state & IT_HOLDOFF))
		it = NULL;
	if (!it) {
		CNT_INC(*(a->incr ? &p->c.incr_misses : &p->c.decr_misses));
		if (!a->vivify) {
			r = STORE_NOT_FOUND;
			goto out;
		}
		n = snprintf(num, sizeof(num), "%llu", (unsigned long long)a->initial);
		it = item_new(s, p, key, klen, (uint32_t)n, now, &err);
		if (!it) {
			r = err;
			goto out;
		}
		memcpy(item_value(it), num, (size_t)n);
		it->exptime = store_exptime(a->vivify_exptime, now);
		it->cas = next_cas(s, p);
		item_link(s, p, h, it, index_find(p, h, key, klen, NULL), now);
		*value_out = a->initial;
		fill_info(it, now, info);
		info->created = true;
		goto out;
	}
	/* memcached's order: an empty or chunked value, then the CAS, then the number */
	if (it->vlen == 0 || mc_chunked(it)) {
		r = STORE_NON_NUMERIC;
		goto out;
	}
	if (a->cas && a->cas != it->cas) {
		r = STORE_EXISTS;
		goto out;
	}
	if (!parse_u64(item_value(it), it->vlen, &v)) {
		r = STORE_NON_NUMERIC;
		goto out;
	}
	CNT_INC(*(a->incr ? &p->c.incr_hits : &p->c.decr_hits));
	if (a->incr)
		v += a->delta;
	else
		v = v < a->delta ? 0 : v - a->delta;
	*value_out = v;
	vlen_old = it->vlen;
	n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	if ((uint32_t)n <= it->vlen) {
		/*
		 * In place, padded with spaces, as memcached does when the number
		 * shrinks (and no reply of its still holds the item: then it makes
		 * a new item; protocol.txt leaves the padding open). The item keeps
		 * its fetched, stale and token state.
		 */
		bucket_write_begin(b);
		memcpy(item_value(it), num, (size_t)n);
		memset(item_value(it) + n, ' ', it->vlen - (uint32_t)n);
		it->cas = next_cas(s, p);
		bucket_write_end(b);
		__atomic_store_n(&it->atime, now, __ATOMIC_RELAXED);
	} else {
		struct item *nv = item_new(s, p, key, klen, (uint32_t)n, now, &err);

		it = index_find(p, h, key, klen, NULL); /* the allocation may have evicted it */
		if (!nv || !it) {
			if (nv)
				item_drop(s, p, nv);
			r = nv ? STORE_NOT_FOUND : err;
			goto out;
		}
		memcpy(item_value(nv), num, (size_t)n);
		nv->flags = it->flags;
		nv->exptime = it->exptime;
		nv->cas = next_cas(s, p);
		/* a new item, as memcached's: not fetched, neither stale nor binary */
		item_link(s, p, h, nv, it, now);
		it = nv;
	}
	/* not an access: memcached reads the item without a bump (h stays as it was) */
	fill_info(it, now, info); /* the TTL before the touch, as for mg */
	/*
	 * memcached's ma applies T to the item it read, which a longer number has
	 * just replaced: then the TTL stays as it was. So does this.
	 */
	if (a->touch && it->vlen <= vlen_old)
		set_exptime(s, p, b, it, store_exptime(a->exptime, now), now);
out:
	part_unlock(p);
	return r;
}

/* ------------------------------------------------------------------ */
/* flush, maintenance                                                 */

void store_flush(struct store *s, uint32_t now, int64_t delay)
{
	CNT_INC(s->parts[0]->c.cmd_flush);
	if (delay > 0) {
		__atomic_store_n(&s->hdr->flush_time, store_exptime(delay, now), __ATOMIC_RELAXED);
		return;
	}
	for (unsigned i = 0; i < s->cfg.partitions; i++) {
		struct part *p = s->parts[i];

		part_lock(p);
		__atomic_store_n(&p->oldest_cas, p->next_cas, __ATOMIC_RELAXED);
		part_unlock(p);
	}
	__atomic_store_n(&s->hdr->flush_time, 0, __ATOMIC_RELAXED);
}

unsigned store_maintain(struct store *s, unsigned part, uint32_t now, unsigned budget)
{
	struct part *p;
	unsigned done = 0;

	if (part >= s->cfg.partitions)
		return 0;
	p = s->parts[part];
	part_lock(p);
	done += lru_transient_reap(s, p, now, budget);
	if (done < budget)
		done += lru_reclaim(s, p, now, budget - done);
	done += slab_rebalance(s, p, now);
	part_unlock(p);
	return done;
}
