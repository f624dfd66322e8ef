/*
 * Slab memory of a partition: pages of item_size_max bytes, each owned by one
 * class (the page map holds the class id, 0 = unowned) and carved lazily into
 * that class's chunks. The partition never owns more pages than its share of
 * the memory limit, so the limit is never exceeded.
 *
 * Allocation: the class's free list, then its page being carved, then an
 * unowned page, then the LRU (expired first, then the cold tail), and when
 * the class has nothing to evict (no items at all) a page taken from the
 * class holding the oldest item.
 *
 * Rebalancing, after the paper: a class whose eviction victims were accessed
 * at least 20% more recently than the average LRU tail of the other classes
 * receives a page from the class whose tail item is the oldest. The page is
 * emptied (its items evicted, its free chunks taken off the free list) and
 * handed over.
 */
#include "store_internal.h"

void slab_init_part(struct store *s, struct part *p)
{
	const struct arena_layout *l = &s->hdr->layout;

	for (unsigned c = 1; c <= l->nclasses; c++) {
		p->cls[c].size = l->class_size[c];
		p->cls[c].perslab = l->item_size_max / l->class_size[c];
	}
}

/* The smallest class that holds `total` bytes (0: none): a binary search. */
static unsigned class_search(const struct arena_layout *l, uint32_t total)
{
	unsigned lo = 1, hi = l->nclasses;

	if (total > l->item_size_max)
		return 0;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (l->class_size[mid] >= total)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Class sizes are multiples of 8 bytes (-I is rounded up to 8 too), so all
 * totals in (8i, 8i + 8] fall in the class of 8i + 8: one byte per 8 bytes
 * of total answers the common sizes without a search.
 */
void slab_class_table(struct store *s)
{
	for (uint32_t i = 0; i < CLASS_TABLE_BYTES / 8; i++)
		s->class_table[i] = (uint8_t)class_search(&s->hdr->layout, 8 * i + 8);
	s->class_table_max = CLASS_TABLE_BYTES;
}

unsigned slab_class_for(const struct store *s, uint32_t total)
{
	if (total - 1u < s->class_table_max)
		return s->class_table[(total - 1u) / 8];
	return class_search(&s->hdr->layout, total);
}

static void free_push(struct part *p, struct slab_class *sc, struct item *it)
{
	uint32_t ref = item_ref(p, it);

	it->state = IT_FREE;
	it->prev = 0;
	it->next = sc->free_head;
	if (sc->free_head)
		item_at(p, sc->free_head)->prev = ref;
	sc->free_head = ref;
	sc->free_count++;
}

static void free_remove(struct part *p, struct slab_class *sc, struct item *it)
{
	if (it->prev)
		item_at(p, it->prev)->next = it->next;
	else
		sc->free_head = it->next;
	if (it->next)
		item_at(p, it->next)->prev = it->prev;
	sc->free_count--;
	it->state = 0;
}

static bool take_free_page(struct store *s, struct part *p, unsigned cls)
{
	uint8_t *map = part_pagemap(p);
	struct slab_class *sc = &p->cls[cls];

	(void)s;
	if (!p->pages_free || sc->carve_page)
		return false;
	for (uint32_t i = 0; i < p->npages; i++) {
		if (!map[i]) {
			map[i] = (uint8_t)cls;
			p->pages_free--;
			sc->pages++;
			sc->carve_page = i + 1;
			sc->carve_next = 0;
			return true;
		}
	}
	return false;
}

static struct item *carve(struct store *s, struct part *p, unsigned cls)
{
	struct slab_class *sc = &p->cls[cls];
	char *page;

	if (!sc->carve_page)
		return NULL;
	page = part_page(p, sc->carve_page - 1, store_page_size(s));
	struct item *it = (struct item *)(page + (uint64_t)sc->carve_next * sc->size);

	if (++sc->carve_next == sc->perslab)
		sc->carve_page = 0;
	return it;
}

static struct item *alloc_cheap(struct store *s, struct part *p, unsigned cls)
{
	struct slab_class *sc = &p->cls[cls];
	struct item *it;

	if (sc->free_head) {
		it = item_at(p, sc->free_head);
		free_remove(p, sc, it);
		return it;
	}
	it = carve(s, p, cls);
	if (it)
		return it;
	if (take_free_page(s, p, cls))
		return carve(s, p, cls);
	return NULL;
}

/*
 * The class (other than `not`) whose LRU tail is the oldest among those that
 * own at least `min_pages` pages. Taking a class's last page would only make
 * it steal one back: classes then trade pages forever.
 */
static unsigned oldest_class(struct store *s, struct part *p, unsigned not, uint32_t min_pages,
			     uint32_t *atime)
{
	unsigned best = 0;
	uint32_t best_t = UINT32_MAX;

	for (unsigned c = 1; c <= s->hdr->layout.nclasses; c++) {
		struct item *tail;

		if (c == not || p->cls[c].pages < min_pages)
			continue;
		tail = lru_tail(p, c);
		uint32_t t = tail ? __atomic_load_n(&tail->atime, __ATOMIC_RELAXED)
				  : 0; /* a class with pages but no items: oldest */

		if (t < best_t) {
			best_t = t;
			best = c;
		}
	}
	if (atime)
		*atime = best_t;
	return best;
}

struct item *slab_alloc(struct store *s, struct part *p, unsigned cls, uint32_t now)
{
	struct slab_class *sc = &p->cls[cls];
	struct item *it = alloc_cheap(s, p, cls);

	if (it)
		goto got;
	if (p->tr_items && lru_transient_reap(s, p, now, 64) && (it = alloc_cheap(s, p, cls)))
		goto got;
	for (int round = 0; round < 2; round++) {
		if (lru_pull(s, p, cls, now, 16) && (it = alloc_cheap(s, p, cls)))
			goto got;
		/* Nothing to evict in this class: take a page from the oldest one. */
		unsigned from = oldest_class(s, p, cls, 2, NULL);

		if (!from || !slab_move_page(s, p, from, cls, now))
			break;
		if ((it = alloc_cheap(s, p, cls)))
			goto got;
	}
	CNT_INC(sc->c.outofmemory);
	return NULL;
got:
	it->cls = (uint8_t)cls;
	it->state = 0;
	__atomic_store_n(&it->iflags, 0, __ATOMIC_RELAXED); /* a late reader may still OR into it */
	sc->used++;
	return it;
}

void slab_free(struct store *s, struct part *p, struct item *it)
{
	struct slab_class *sc = &p->cls[it->cls];

	(void)s;
	sc->used--;
	free_push(p, sc, it);
}

/*
 * Empty one page of class `from` (the one holding its LRU tail, else any) and
 * give it to class `to`. Fails if a reserved (pending) item sits in it.
 */
bool slab_move_page(struct store *s, struct part *p, unsigned from, unsigned to, uint32_t now)
{
	uint32_t page_size = store_page_size(s);
	struct slab_class *sf = &p->cls[from];
	uint8_t *map = part_pagemap(p);
	struct item *tail = lru_tail(p, from);
	uint32_t pg = UINT32_MAX;
	char *page;

	if (!sf->pages)
		return false;
	if (tail)
		pg = (uint32_t)(((char *)tail - part_page(p, 0, page_size)) / page_size);
	if (pg == UINT32_MAX || map[pg] != from || sf->carve_page == pg + 1) {
		for (uint32_t i = 0; i < p->npages; i++)
			if (map[i] == from && sf->carve_page != i + 1) {
				pg = i;
				break;
			}
	}
	if (pg == UINT32_MAX || map[pg] != from) {
		/* Only its carve page is left: give up the uncarved rest if unused. */
		if (!sf->carve_page)
			return false;
		pg = sf->carve_page - 1;
	}
	page = part_page(p, pg, page_size);
	uint32_t carved = sf->carve_page == pg + 1 ? sf->carve_next : sf->perslab;

	for (uint32_t i = 0; i < carved; i++) {
		struct item *it = (struct item *)(page + (uint64_t)i * sf->size);

		if (it->state & IT_PENDING)
			return false;
	}
	for (uint32_t i = 0; i < carved; i++) {
		struct item *it = (struct item *)(page + (uint64_t)i * sf->size);

		if (it->state & IT_LINKED)
			item_unlink_free(s, p, it, now,
					 item_is_live(s, p, it, now) ? UNLINK_MOVE
								     : UNLINK_EXPIRED);
		if (it->state & IT_FREE)
			free_remove(p, sf, it);
	}
	if (sf->carve_page == pg + 1)
		sf->carve_page = 0;
	sf->pages--;
	map[pg] = 0;
	p->pages_free++;
	CNT_INC(p->c.slabs_moved);
	return take_free_page(s, p, to) || p->pages_free;
}

/* Seconds since the access of the tail item of class c's LRU (0 if empty). */
static uint32_t tail_age(struct part *p, unsigned c, uint32_t now)
{
	struct item *tail = lru_tail(p, c);

	uint32_t at = tail ? __atomic_load_n(&tail->atime, __ATOMIC_RELAXED) : now;

	return now > at ? now - at : 0;
}

unsigned slab_rebalance(struct store *s, struct part *p, uint32_t now)
{
	unsigned n = s->hdr->layout.nclasses;

	/* Once a second: ages are in seconds, and the look costs classes². */
	if (s->cfg.no_rebalance || p->rebalanced_at == now)
		return 0;
	p->rebalanced_at = now;
	for (unsigned c = 1; c <= n; c++) {
		struct slab_class *sc = &p->cls[c];
		uint64_t ev = sc->c.evicted;
		double sum = 0;
		unsigned others = 0;

		if (ev == sc->evictions_seen)
			continue;
		sc->evictions_seen = ev;
		for (unsigned o = 1; o <= n; o++) {
			if (o == c || !lru_tail(p, o))
				continue;
			sum += tail_age(p, o, now);
			others++;
		}
		if (!others)
			continue;
		double victim_age = now > sc->victim_atime ? now - sc->victim_atime : 0;

		/* Used >= 20% more recently than the others' average tail. */
		if (victim_age * 1.2 > sum / others)
			continue;
		/* Here a class may lose its last page: its items are the oldest. */
		unsigned from = oldest_class(s, p, c, 1, NULL);

		if (from && slab_move_page(s, p, from, c, now))
			return 1;
	}
	return 0;
}

/*
 * After re-attaching: items reserved but never committed by the previous
 * process are freed, and bucket versions made even again.
 */
void slab_recover(struct store *s, struct part *p)
{
	uint32_t page_size = store_page_size(s);
	uint8_t *map = part_pagemap(p);

	p->lock = 0;
	for (uint32_t b = 0; b < p->nbuckets; b++)
		part_buckets(p)[b].version &= ~1u;
	for (uint32_t i = 0; i < p->npages; i++) {
		unsigned c = map[i];

		if (!c)
			continue;
		struct slab_class *sc = &p->cls[c];
		uint32_t carved = sc->carve_page == i + 1 ? sc->carve_next : sc->perslab;
		char *page = part_page(p, i, page_size);

		for (uint32_t k = 0; k < carved; k++) {
			struct item *it = (struct item *)(page + (uint64_t)k * sc->size);

			if (it->state & IT_PENDING) {
				sc->requested -= item_total(it->klen, it->vlen);
				slab_free(s, p, it);
			}
		}
	}
}
