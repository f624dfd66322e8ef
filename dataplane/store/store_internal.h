/*
 * The store's memory layout and the helpers its files share. Not for use
 * outside dataplane/store/ (store_value_inline.h brings the read path to the
 * UDP get path, inline).
 *
 * Everything that must survive a restart lives in the arena (one mapping),
 * and refers to other arena objects by offset: an item by a 32-bit "ref",
 * its byte offset from its partition's base divided by 8 (items are 8-byte
 * aligned, so a partition spans up to 32 GB), 0 meaning none.
 */
#ifndef DPCACHE_STORE_INTERNAL_H
#define DPCACHE_STORE_INTERNAL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "store.h"

#define CLASS_TABLE_BYTES  4096 /* item totals slab_class_for() finds in a table */
#define ARENA_MAGIC	   UINT64_C(0x3165686361637064) /* "dpcache1" */
#define ARENA_VERSION	   1
#define ARENA_ALIGN	   (2u << 20) /* hugepage size: partitions start on one */
#define BUCKET_SLOTS	   7
#define LEASE_SLOTS	   1024
#define TRANSIENT_RING_MAX 3601 /* transient_ttl_max <= 3600 */

enum lru_seg { LRU_HOT, LRU_WARM, LRU_COLD, LRU_SEGS };

/* item->state: written by the partition's writer only (readers validate). */
#define IT_LINKED    0x01 /* in the index (and in an LRU or the transient ring) */
#define IT_FREE	     0x02 /* on its class's free list */
#define IT_PENDING   0x04 /* reserved by store_reserve, not linked yet */
#define IT_TRANSIENT 0x08 /* in the transient ring, not in an LRU */
#define IT_STALE     0x10 /* invalidated (meta I) */
#define IT_TOKEN     0x20 /* a win token was handed out (meta Z for the next) */
#define IT_HOLDOFF   0x40 /* tombstone of a delete with hold-off */
#define IT_BINKEY    0x80 /* stored by ms with b: meta k shows the key base64-encoded */
/* item->iflags: set by readers with atomic or, cleared by the writer. */
#define IF_ACTIVE  0x01 /* read since it was last moved in the LRU */
#define IF_FETCHED 0x02 /* read at least once */

/*
 * An item: 36 bytes of header, the key, then the value; no terminators.
 * prev/next link it in an LRU segment, the transient ring or a free list.
 */
struct item {
	uint32_t prev, next;
	uint64_t cas;
	uint32_t exptime; /* absolute unix time, 0 = never */
	uint32_t atime;	  /* last access (set time, touch, read); readers store it */
	uint32_t flags;
	uint32_t vlen;
	uint8_t klen;
	uint8_t cls;
	uint8_t iflags; /* IF_*, atomic */
	uint8_t state;	/* IT_* */
	char data[];
} __attribute__((packed, aligned(4)));

#define ITEM_HDR ((uint32_t)sizeof(struct item))

/* A 64-byte bucket: a seqlock version, an overflow link and 7 (tag, ref) slots. */
struct bucket {
	uint32_t version;	     /* odd while a writer changes the chain or one of its items */
	uint32_t next;		     /* overflow bucket index + 1, 0 = none */
	uint64_t slot[BUCKET_SLOTS]; /* tag << 32 | ref, 0 = empty */
};

struct lru_list {
	uint32_t head, tail; /* head = most recent */
	uint64_t count;
};

/* Per-class writer-side counters (summed into stats items). */
struct class_counters {
	uint64_t evicted, evicted_nonzero, evicted_time, evicted_unfetched;
	uint64_t expired_unfetched, reclaimed, outofmemory;
	uint64_t moves_to_cold, moves_to_warm, moves_within_lru, cmd_set;
};

struct slab_class {
	uint32_t size;	    /* chunk bytes */
	uint32_t perslab;   /* chunks per page */
	uint32_t pages;	    /* pages owned */
	uint32_t free_head; /* free chunks, doubly linked */
	uint64_t free_count;
	uint32_t carve_page; /* page being carved lazily: index + 1, 0 = none */
	uint32_t carve_next; /* next chunk index in it */
	uint64_t used;	     /* chunks holding an item (linked or pending) */
	uint64_t requested;  /* bytes of those items */
	struct lru_list lru[LRU_SEGS];
	uint64_t evictions_seen; /* rebalancer: evicted at its last look */
	uint32_t victim_atime;	 /* atime of the last evicted item */
	struct class_counters c;
};

/* Writer-side partition counters (in the arena: they survive a restart). */
struct part_counters {
	uint64_t curr_items, total_items, bytes;
	uint64_t evictions, expired_unfetched, evicted_unfetched, reclaimed;
	uint64_t transient_freed, slabs_moved, slab_reassign_evictions;
	uint64_t cmd_set, cmd_touch, touch_hits, touch_misses;
	uint64_t delete_hits, delete_misses, incr_hits, incr_misses, decr_hits, decr_misses;
	uint64_t cas_hits, cas_misses, cas_badval, cmd_flush;
};

struct lease_slot {
	uint64_t hash;
	uint32_t time;
	uint32_t pad;
};

/* A partition's header, at the start of its region in the arena. */
struct part {
	uint32_t lock; /* writers' spinlock; reset on attach */
	uint32_t id;
	uint64_t next_cas;   /* next CAS handed out: id + 1 + k * partitions */
	uint64_t oldest_cas; /* items with a lower CAS are flushed (atomic) */
	uint64_t buckets_off, over_off, pagemap_off, pages_off; /* from the part base */
	uint32_t nbuckets, nover, npages;
	uint32_t over_free;  /* free overflow buckets: index + 1 */
	uint32_t pages_free; /* pages not owned by a class */
	uint32_t tr_next;    /* transient ring: next second to free */
	uint32_t tr_items;
	uint32_t rebalanced_at; /* last second the rebalancer looked */
	uint32_t tr_head[TRANSIENT_RING_MAX];
	struct slab_class cls[STORE_CLASSES_MAX + 1]; /* 1-based */
	struct part_counters c;
	struct lease_slot lease[LEASE_SLOTS];
};

/* Everything store_setup derives from the config; a file must match it to attach. */
struct arena_layout {
	uint32_t sizeof_part, sizeof_item, sizeof_bucket, sizeof_class; /* a build's fingerprint */
	uint64_t total_size;
	uint64_t limit_bytes;
	uint32_t item_size_max;
	uint32_t nparts;
	uint32_t nclasses;
	uint32_t nbuckets;
	uint32_t nover;
	uint32_t transient_ttl_max;
	uint32_t class_size[STORE_CLASSES_MAX + 1];
	uint32_t npages[STORE_PARTITIONS_MAX];
	uint64_t part_off[STORE_PARTITIONS_MAX];
	uint64_t part_size[STORE_PARTITIONS_MAX];
};

struct arena_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t clean; /* 1 only between a clean teardown and the next attach */
	uint32_t pad;
	uint64_t checksum;   /* XXH3 of this header with checksum = 0, written at clean teardown */
	uint32_t flush_time; /* delayed flush_all: items older than this die at this time */
	uint32_t pad2;
	struct arena_layout layout;
};

/* Reader-side counters, per calling thread and partition (not persisted). */
struct read_counters {
	uint64_t get_hits, get_misses, get_expired, get_flushed, read_retries;
};

struct store_thread {
	struct store *s;
	unsigned tid;
	struct read_counters rc[STORE_PARTITIONS_MAX];
} __attribute__((aligned(64)));

struct store {
	struct store_config cfg;
	char *base; /* the arena */
	struct arena_hdr *hdr;
	int fd;
	bool reattached;
	struct part *parts[STORE_PARTITIONS_MAX];
	struct store_thread *threads;
	/* slab_class_for() of the totals 1 .. class_table_max, at (total - 1) / 8 */
	uint32_t class_table_max;
	uint8_t class_table[CLASS_TABLE_BYTES / 8];
};

/* ---- relaxed counters: one writer, readers anywhere ---- */
#define CNT_ADD(x, n) \
	__atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define CNT_INC(x) CNT_ADD(x, 1)
#define CNT_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* ---- references ---- */
static inline char *part_base(const struct part *p)
{
	return (char *)p;
}

static inline struct item *item_at(const struct part *p, uint32_t ref)
{
	return (struct item *)(part_base(p) + ((uint64_t)ref << 3));
}

static inline uint32_t item_ref(const struct part *p, const struct item *it)
{
	return (uint32_t)(((const char *)it - part_base(p)) >> 3);
}

static inline struct bucket *part_buckets(const struct part *p)
{
	return (struct bucket *)(part_base(p) + p->buckets_off);
}

static inline struct bucket *part_over(const struct part *p, uint32_t idx1)
{
	return (struct bucket *)(part_base(p) + p->over_off) + (idx1 - 1);
}

static inline uint8_t *part_pagemap(const struct part *p)
{
	return (uint8_t *)(part_base(p) + p->pagemap_off);
}

static inline char *part_page(const struct part *p, uint32_t idx, uint32_t page_size)
{
	return part_base(p) + p->pages_off + (uint64_t)idx * page_size;
}

static inline const char *item_key(const struct item *it)
{
	return it->data;
}

static inline char *item_value(struct item *it)
{
	return it->data + it->klen;
}

static inline uint32_t item_total(uint32_t klen, uint32_t vlen)
{
	return ITEM_HDR + klen + vlen;
}

static inline uint32_t hash_tag(uint64_t h)
{
	return (uint32_t)(h >> 48);
}

static inline unsigned hash_part(uint64_t h, unsigned nparts)
{
	return (unsigned)((h >> 32) & 0xffff) % nparts;
}

/* ---- the partition lock (writers) ---- */
/*
 * Spin (the owner's writes are short), but yield the core after a while: a
 * holder that was preempted (more threads than cores, as in tests) would
 * otherwise be waited for a whole time slice.
 */
static inline void part_lock(struct part *p)
{
	for (;;) {
		if (!__atomic_exchange_n(&p->lock, 1, __ATOMIC_ACQUIRE))
			return;
		for (unsigned spins = 0; __atomic_load_n(&p->lock, __ATOMIC_RELAXED); spins++) {
			if (spins < 1024)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	}
}

static inline void part_unlock(struct part *p)
{
	__atomic_store_n(&p->lock, 0, __ATOMIC_RELEASE);
}

/* ---- bucket seqlock ----
 * Writer: version odd, then the changes, then version even. The begin is an
 * atomic add (a full barrier on x86, and understood by TSan, which does not
 * model fences); a reader's check after its copy is an acquire fence, or an
 * acquire-release no-op add under TSan. */
static inline void bucket_write_begin(struct bucket *b)
{
	__atomic_fetch_add(&b->version, 1, __ATOMIC_SEQ_CST);
}

static inline void bucket_write_end(struct bucket *b)
{
	__atomic_fetch_add(&b->version, 1, __ATOMIC_RELEASE);
}

#if defined(__SANITIZE_THREAD__)
static inline uint32_t bucket_read_end(struct bucket *b)
{
	return __atomic_fetch_add(&b->version, 0, __ATOMIC_ACQ_REL);
}
#else
static inline uint32_t bucket_read_end(struct bucket *b)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&b->version, __ATOMIC_RELAXED);
}
#endif

/* ---- store.c helpers used by the others ---- */
uint32_t store_page_size(const struct store *s);

/* Not expired, not flushed (flush_all, delayed or not). Inline: every get asks. */
static inline bool item_is_live(const struct store *s, const struct part *p, const struct item *it,
				uint32_t now)
{
	uint32_t ft;

	if (it->exptime && it->exptime <= now)
		return false;
	if (it->cas < __atomic_load_n(&p->oldest_cas, __ATOMIC_RELAXED))
		return false;
	ft = __atomic_load_n(&s->hdr->flush_time, __ATOMIC_RELAXED);
	if (ft && now >= ft && __atomic_load_n(&it->atime, __ATOMIC_RELAXED) < ft)
		return false;
	return true;
}

#define READ_CHAIN_MAX	 64 /* buckets a reader walks before assuming it is lost */
#define READ_RETRIES_MAX 16 /* optimistic tries before a read takes the lock */

/* What a lock-free read found (store.c's read_optimistic, store_value_inline.h's). */
enum read_outcome { RD_HIT, RD_MISS, RD_EXPIRED, RD_FLUSHED };

/* A read's access: atime and the active/fetched bits (no shared structure written). */
static inline void item_touched(struct item *it, uint32_t now)
{
	uint8_t f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);

	if (__atomic_load_n(&it->atime, __ATOMIC_RELAXED) != now)
		__atomic_store_n(&it->atime, now, __ATOMIC_RELAXED);
	if ((f & (IF_ACTIVE | IF_FETCHED)) != (IF_ACTIVE | IF_FETCHED))
		__atomic_fetch_or(&it->iflags, IF_ACTIVE | IF_FETCHED, __ATOMIC_RELAXED);
}

/* A read counted: get_hits, or get_misses (and get_expired or get_flushed). */
static inline void count_read(struct store_thread *t, const struct part *p, enum read_outcome o)
{
	struct read_counters *rc = &t->rc[p->id];

	switch (o) {
	case RD_HIT:
		CNT_INC(rc->get_hits);
		return;
	case RD_EXPIRED:
		CNT_INC(rc->get_expired);
		break;
	case RD_FLUSHED:
		CNT_INC(rc->get_flushed);
		break;
	case RD_MISS:
		break;
	}
	CNT_INC(rc->get_misses);
}

/* ---- arena.c ---- */
int arena_open(struct store *s);
void arena_close(struct store *s, bool clean);
void arena_log(const struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- index.c ---- */
struct bucket *index_bucket(const struct part *p, uint64_t h);
/* Writer: the item with this key, or NULL; *slotp gets its slot. */
struct item *index_find(struct part *p, uint64_t h, const void *key, size_t klen, uint64_t **slotp);
/* Writer: put ref in a free slot of h's chain (bucket write section held by caller). */
bool index_insert(struct part *p, uint64_t h, uint32_t ref);
/* Writer: clear the slot that holds ref (write section held by caller). */
void index_remove(struct part *p, uint64_t h, uint32_t ref);

/* ---- slab.c ---- */
void slab_init_part(struct store *s, struct part *p);
void slab_class_table(struct store *s); /* once the layout is known */
unsigned slab_class_for(const struct store *s, uint32_t total);
struct item *slab_alloc(struct store *s, struct part *p, unsigned cls, uint32_t now);
void slab_free(struct store *s, struct part *p, struct item *it);
bool slab_move_page(struct store *s, struct part *p, unsigned from, unsigned to, uint32_t now);
unsigned slab_rebalance(struct store *s, struct part *p, uint32_t now);
void slab_recover(struct store *s, struct part *p);

/* ---- lru.c ---- */
void lru_link(struct store *s, struct part *p, struct item *it, uint32_t now);
void lru_unlink(struct store *s, struct part *p, struct item *it);
void lru_bump_seg(struct store *s, struct part *p, struct item *it, enum lru_seg seg);
struct item *lru_tail(struct part *p, unsigned cls);
unsigned lru_pull(struct store *s, struct part *p, unsigned cls, uint32_t now, unsigned tries);
unsigned lru_transient_reap(struct store *s, struct part *p, uint32_t now, unsigned budget);
unsigned lru_reclaim(struct store *s, struct part *p, uint32_t now, unsigned budget);

/* ---- store.c: unlink an item from index + LRU, account, free ---- */
enum unlink_why { UNLINK_DELETE, UNLINK_REPLACE, UNLINK_EXPIRED, UNLINK_EVICT, UNLINK_MOVE };
void item_unlink_free(struct store *s, struct part *p, struct item *it, uint32_t now,
		      enum unlink_why why);

#endif
