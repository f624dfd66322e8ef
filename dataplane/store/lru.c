/*
 * Item lifecycle in time: the segmented LRU (hot, warm, cold per class), the
 * transient item cache, eviction and reclaiming of expired items.
 *
 * Readers never touch the lists: a read sets the item's ACTIVE bit (and its
 * atime). The writer acts on the bit when an item reaches a segment's tail:
 * active items go to (or stay in) warm, inactive ones flow to cold, and the
 * cold tail is evicted unless active. New items enter hot. Hot is kept to
 * 20% of a class's LRU items, warm to 40%, as memcached's segmented LRU.
 *
 * Items whose TTL is at most transient_ttl_max at link time are not put in an
 * LRU: they go to a ring of per-second lists indexed by their expiry second,
 * and store_maintain frees a second's list once it has passed (the paper's
 * transient item cache).
 */
#include "store_internal.h"

#define HOT_PCT	 20
#define WARM_PCT 40

static inline unsigned item_seg(const struct item *it)
{
	return (__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) >> 4) & 3;
}

/* The segment lives in iflags bits 4-5, written by the writer only, but with
 * atomic read-modify-writes so that a reader's ACTIVE bit is never lost. */
static inline void set_seg(struct item *it, unsigned seg)
{
	__atomic_fetch_and(&it->iflags, (uint8_t)0xcf, __ATOMIC_RELAXED);
	__atomic_fetch_or(&it->iflags, (uint8_t)(seg << 4), __ATOMIC_RELAXED);
}

static void clear_active(struct item *it)
{
	__atomic_fetch_and(&it->iflags, (uint8_t)~IF_ACTIVE, __ATOMIC_RELAXED);
}

static void list_push_head(struct part *p, uint32_t *head, uint32_t *tail, struct item *it)
{
	uint32_t ref = item_ref(p, it);

	it->prev = 0;
	it->next = *head;
	if (*head)
		item_at(p, *head)->prev = ref;
	*head = ref;
	if (tail && !*tail)
		*tail = ref;
}

static void list_remove(struct part *p, uint32_t *head, uint32_t *tail, struct item *it)
{
	if (it->prev)
		item_at(p, it->prev)->next = it->next;
	else
		*head = it->next;
	if (it->next)
		item_at(p, it->next)->prev = it->prev;
	else if (tail)
		*tail = it->prev;
	it->prev = it->next = 0;
}

static void seg_add(struct part *p, struct item *it, unsigned seg)
{
	struct lru_list *l = &p->cls[it->cls].lru[seg];

	list_push_head(p, &l->head, &l->tail, it);
	l->count++;
	set_seg(it, seg);
}

static void seg_del(struct part *p, struct item *it)
{
	struct lru_list *l = &p->cls[it->cls].lru[item_seg(it)];

	list_remove(p, &l->head, &l->tail, it);
	l->count--;
}

static uint32_t ring_size(const struct store *s)
{
	return s->hdr->layout.transient_ttl_max + 1;
}

static bool goes_transient(const struct store *s, const struct item *it, uint32_t now)
{
	uint32_t max = s->hdr->layout.transient_ttl_max;

	return max && it->exptime && it->exptime > now && it->exptime - now <= max &&
	       !(it->state & (IT_STALE | IT_HOLDOFF | IT_TOKEN));
}

/* Move the tails of hot and warm down when they are over their share. */
static void balance(struct store *s, struct part *p, unsigned cls, uint32_t now)
{
	struct slab_class *sc = &p->cls[cls];
	uint64_t total = sc->lru[LRU_HOT].count + sc->lru[LRU_WARM].count + sc->lru[LRU_COLD].count;

	for (int k = 0;
	     k < 2 && sc->lru[LRU_HOT].count * 100 > total * HOT_PCT && sc->lru[LRU_HOT].count > 1;
	     k++) {
		struct item *it = item_at(p, sc->lru[LRU_HOT].tail);

		if (!item_is_live(s, p, it, now)) {
			item_unlink_free(s, p, it, now, UNLINK_EXPIRED);
			continue;
		}
		seg_del(p, it);
		/* The next tail to move is in cache now; warm the one after it. */
		if (sc->lru[LRU_HOT].tail && item_at(p, sc->lru[LRU_HOT].tail)->prev)
			__builtin_prefetch(item_at(p, item_at(p, sc->lru[LRU_HOT].tail)->prev));
		if (__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) & IF_ACTIVE) {
			clear_active(it);
			seg_add(p, it, LRU_WARM);
			CNT_INC(sc->c.moves_to_warm);
		} else {
			seg_add(p, it, LRU_COLD);
			CNT_INC(sc->c.moves_to_cold);
		}
	}
	for (int k = 0; k < 2 && sc->lru[LRU_WARM].count * 100 > total * WARM_PCT &&
			sc->lru[LRU_WARM].count > 1;
	     k++) {
		struct item *it = item_at(p, sc->lru[LRU_WARM].tail);

		seg_del(p, it);
		if (__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) & IF_ACTIVE) {
			clear_active(it);
			seg_add(p, it, LRU_WARM);
			CNT_INC(sc->c.moves_within_lru);
		} else {
			seg_add(p, it, LRU_COLD);
			CNT_INC(sc->c.moves_to_cold);
		}
	}
}

void lru_link(struct store *s, struct part *p, struct item *it, uint32_t now)
{
	if (goes_transient(s, it, now)) {
		uint32_t slot = it->exptime % ring_size(s);

		list_push_head(p, &p->tr_head[slot], NULL, it);
		it->state |= IT_TRANSIENT;
		p->tr_items++;
		return;
	}
	seg_add(p, it, LRU_HOT);
	balance(s, p, it->cls, now);
}

void lru_unlink(struct store *s, struct part *p, struct item *it)
{
	if (it->state & IT_TRANSIENT) {
		uint32_t slot = it->exptime % ring_size(s);

		list_remove(p, &p->tr_head[slot], NULL, it);
		it->state &= (uint8_t)~IT_TRANSIENT;
		p->tr_items--;
		return;
	}
	seg_del(p, it);
}

void lru_bump_seg(struct store *s, struct part *p, struct item *it, enum lru_seg seg)
{
	(void)s;
	seg_del(p, it);
	seg_add(p, it, seg);
}

struct item *lru_tail(struct part *p, unsigned cls)
{
	struct slab_class *sc = &p->cls[cls];

	if (sc->lru[LRU_COLD].tail)
		return item_at(p, sc->lru[LRU_COLD].tail);
	if (sc->lru[LRU_HOT].tail)
		return item_at(p, sc->lru[LRU_HOT].tail);
	if (sc->lru[LRU_WARM].tail)
		return item_at(p, sc->lru[LRU_WARM].tail);
	return NULL;
}

/*
 * Free one chunk of class cls: an expired tail item if there is one, else
 * the cold tail (active items get a second chance in warm, up to `tries`).
 * Returns the number of items freed (0 or 1).
 */
unsigned lru_pull(struct store *s, struct part *p, unsigned cls, uint32_t now, unsigned tries)
{
	struct slab_class *sc = &p->cls[cls];

	for (unsigned k = 0; k < tries; k++) {
		struct item *it = lru_tail(p, cls);

		if (!it)
			return 0;
		if (!item_is_live(s, p, it, now)) {
			item_unlink_free(s, p, it, now, UNLINK_EXPIRED);
			return 1;
		}
		if ((__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) & IF_ACTIVE) && k + 1 < tries) {
			clear_active(it);
			lru_bump_seg(s, p, it, LRU_WARM);
			CNT_INC(sc->c.moves_to_warm);
			balance(s, p, cls, now);
			continue;
		}
		sc->victim_atime = __atomic_load_n(&it->atime, __ATOMIC_RELAXED);
		item_unlink_free(s, p, it, now, UNLINK_EVICT);
		return 1;
	}
	return 0;
}

unsigned lru_transient_reap(struct store *s, struct part *p, uint32_t now, unsigned budget)
{
	uint32_t ring = ring_size(s), done = 0;

	if (!s->hdr->layout.transient_ttl_max)
		return 0;
	if (!p->tr_next || now - p->tr_next > ring)
		p->tr_next = now > ring ? now - ring : 0; /* first run, or a jump: one lap */
	while (p->tr_next <= now && done < budget) {
		uint32_t *head = &p->tr_head[p->tr_next % ring];
		uint32_t ref = *head;

		while (ref && done < budget) {
			struct item *it = item_at(p, ref);

			ref = it->next;
			if (it->exptime <= now) {
				item_unlink_free(s, p, it, now, UNLINK_EXPIRED);
				CNT_INC(p->c.transient_freed);
				done++;
			}
		}
		if (ref)
			break; /* budget spent inside this second: resume here */
		if (p->tr_next == now)
			break;
		p->tr_next++;
	}
	return done;
}

/* Proactive expiry: look at up to `budget` LRU tail items per call, freeing dead ones. */
unsigned lru_reclaim(struct store *s, struct part *p, uint32_t now, unsigned budget)
{
	unsigned n = s->hdr->layout.nclasses, done = 0, looked = 0;

	for (unsigned c = 1; c <= n && looked < budget; c++) {
		for (unsigned seg = 0; seg < LRU_SEGS && looked < budget; seg++) {
			uint32_t ref = p->cls[c].lru[seg].tail;

			for (unsigned k = 0; ref && k < 8 && looked < budget; k++, looked++) {
				struct item *it = item_at(p, ref);

				ref = it->prev;
				if (!item_is_live(s, p, it, now)) {
					item_unlink_free(s, p, it, now, UNLINK_EXPIRED);
					done++;
				}
			}
		}
		balance(s, p, c, now);
	}
	return done;
}
