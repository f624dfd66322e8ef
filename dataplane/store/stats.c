/*
 * Counters: writer-side ones live in each partition (in the arena, so they
 * survive a restart), reader-side ones per calling thread and partition.
 * Both are written with relaxed atomics by one thread and summed here.
 */
#include "store_internal.h"

static void add_part(const struct store *s, unsigned i, struct store_stats *o)
{
	const struct part *p = s->parts[i];
	const struct part_counters *c = &p->c;
	uint64_t pages = 0;

	o->curr_items += CNT_GET(c->curr_items);
	o->total_items += CNT_GET(c->total_items);
	o->bytes += CNT_GET(c->bytes);
	o->evictions += CNT_GET(c->evictions);
	o->expired_unfetched += CNT_GET(c->expired_unfetched);
	o->evicted_unfetched += CNT_GET(c->evicted_unfetched);
	o->reclaimed += CNT_GET(c->reclaimed);
	o->transient_freed += CNT_GET(c->transient_freed);
	o->slabs_moved += CNT_GET(c->slabs_moved);
	o->slab_reassign_evictions += CNT_GET(c->slab_reassign_evictions);
	o->hash_bytes += (uint64_t)(p->nbuckets + p->nover) * sizeof(struct bucket);
	o->cmd_set += CNT_GET(c->cmd_set);
	o->cmd_touch += CNT_GET(c->cmd_touch);
	o->touch_hits += CNT_GET(c->touch_hits);
	o->touch_misses += CNT_GET(c->touch_misses);
	o->delete_hits += CNT_GET(c->delete_hits);
	o->delete_misses += CNT_GET(c->delete_misses);
	o->incr_hits += CNT_GET(c->incr_hits);
	o->incr_misses += CNT_GET(c->incr_misses);
	o->decr_hits += CNT_GET(c->decr_hits);
	o->decr_misses += CNT_GET(c->decr_misses);
	o->cas_hits += CNT_GET(c->cas_hits);
	o->cas_misses += CNT_GET(c->cas_misses);
	o->cas_badval += CNT_GET(c->cas_badval);
	o->cmd_flush += CNT_GET(c->cmd_flush);
	for (unsigned k = 1; k <= s->hdr->layout.nclasses; k++)
		pages += CNT_GET(p->cls[k].pages);
	o->total_malloced += pages * s->cfg.item_size_max;
	o->limit_maxbytes += (uint64_t)p->npages * s->cfg.item_size_max;
	for (unsigned t = 0; t < s->cfg.threads; t++) {
		const struct read_counters *rc = &s->threads[t].rc[i];

		o->get_hits += CNT_GET(rc->get_hits);
		o->get_misses += CNT_GET(rc->get_misses);
		o->get_expired += CNT_GET(rc->get_expired);
		o->get_flushed += CNT_GET(rc->get_flushed);
		o->read_retries += CNT_GET(rc->read_retries);
	}
}

void store_stats(const struct store *s, int part, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (part >= (int)s->cfg.partitions)
		return;
	if (part >= 0) {
		add_part(s, (unsigned)part, out);
		return;
	}
	for (unsigned i = 0; i < s->cfg.partitions; i++)
		add_part(s, i, out);
	out->limit_maxbytes = s->cfg.limit_bytes;
}

unsigned store_classes(const struct store *s)
{
	return s->hdr->layout.nclasses;
}

static void add_class(const struct store *s, unsigned i, unsigned cls, uint32_t now,
		      struct store_class_stats *o)
{
	const struct part *p = s->parts[i];
	const struct slab_class *sc = &p->cls[cls];
	const struct class_counters *c = &sc->c;
	uint64_t chunks = (uint64_t)CNT_GET(sc->pages) * sc->perslab;

	o->chunk_size = sc->size;
	o->chunks_per_page = sc->perslab;
	o->total_pages += CNT_GET(sc->pages);
	o->total_chunks += chunks;
	o->used_chunks += CNT_GET(sc->used);
	o->free_chunks += chunks - CNT_GET(sc->used);
	o->mem_requested += CNT_GET(sc->requested);
	o->number_hot += CNT_GET(sc->lru[LRU_HOT].count);
	o->number_warm += CNT_GET(sc->lru[LRU_WARM].count);
	o->number_cold += CNT_GET(sc->lru[LRU_COLD].count);
	o->number = o->number_hot + o->number_warm + o->number_cold;
	uint32_t tail = CNT_GET(sc->lru[LRU_COLD].tail);

	if (tail) {
		uint32_t at = __atomic_load_n(&item_at(p, tail)->atime, __ATOMIC_RELAXED);
		uint64_t age = now > at ? now - at : 0;

		if (age > o->age)
			o->age = age;
	}
	o->evicted += CNT_GET(c->evicted);
	o->evicted_nonzero += CNT_GET(c->evicted_nonzero);
	o->evicted_time = CNT_GET(c->evicted_time);
	o->evicted_unfetched += CNT_GET(c->evicted_unfetched);
	o->expired_unfetched += CNT_GET(c->expired_unfetched);
	o->reclaimed += CNT_GET(c->reclaimed);
	o->outofmemory += CNT_GET(c->outofmemory);
	o->moves_to_cold += CNT_GET(c->moves_to_cold);
	o->moves_to_warm += CNT_GET(c->moves_to_warm);
	o->moves_within_lru += CNT_GET(c->moves_within_lru);
	o->cmd_set += CNT_GET(c->cmd_set);
}

void store_class_stats(const struct store *s, int part, unsigned cls, uint32_t now,
		       struct store_class_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (cls < 1 || cls > s->hdr->layout.nclasses || part >= (int)s->cfg.partitions)
		return;
	for (unsigned i = 0; i < s->cfg.partitions; i++)
		if (part < 0 || (unsigned)part == i)
			add_class(s, i, cls, now, out);
}

const char *store_result_name(enum store_result r)
{
	static const char *const names[] = {
	    [STORE_OK] = "OK",
	    [STORE_STORED] = "STORED",
	    [STORE_NOT_STORED] = "NOT_STORED",
	    [STORE_EXISTS] = "EXISTS",
	    [STORE_NOT_FOUND] = "NOT_FOUND",
	    [STORE_TOO_LARGE] = "TOO_LARGE",
	    [STORE_NO_MEMORY] = "NO_MEMORY",
	    [STORE_NON_NUMERIC] = "NON_NUMERIC",
	    [STORE_BAD_KEY] = "BAD_KEY",
	    [STORE_ABORTED] = "ABORTED",
	};

	if ((unsigned)r < sizeof(names) / sizeof(names[0]) && names[r])
		return names[r];
	return "?";
}
