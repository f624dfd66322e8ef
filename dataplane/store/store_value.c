/*
 * store_get_value: store_get() for the UDP read path, where every
 * instruction of a get counts. The read itself is store_value_inline.h's
 * (which the UDP get path inlines); here are its out-of-line forms and the
 * retries after a writer disturbed a read. tests/unit/test_udp_get.c checks
 * it against store_get() through the replies built from each.
 */
#include "store_value_inline.h"

/*
 * After a first attempt that a writer disturbed: retry, and after a few
 * tries (two for a large value) read once under the writers' lock, as
 * read_optimistic does.
 */
__attribute__((noinline, no_sanitize("thread"))) enum store_result
store_value_retry(struct store_thread *t, const struct sv_lookup *l, const void *key, size_t klen,
		  uint32_t now, store_value_fn fn, void *ctx, bool disturbed, uint32_t vlen)
{
	unsigned retries = 0;
	bool locked = false;

	for (;;) {
		uint32_t v1;
		enum store_result res = STORE_OK;
		enum read_outcome out;
		struct item *it;

		if (disturbed) {
			CNT_INC(t->rc[l->p->id].read_retries);
			if (++retries == (vlen > 65536 ? 2 : READ_RETRIES_MAX)) {
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
		out = sv_attempt(l, key, klen, now, fn, ctx, &it, &vlen, &res);
		if (bucket_read_end(l->head) != v1) {
			disturbed = true;
			continue;
		}
		res = sv_done(t, l, out, it, now, res);
		if (locked)
			part_unlock(l->p);
		return res;
	}
}

void store_probe(struct store_thread *t, const void *key, size_t klen, struct store_probe *pr)
{
	store_probe_inline(t, key, klen, pr);
}

void store_probe_item(const struct store_probe *pr)
{
	store_probe_item_inline(pr);
}

__attribute__((no_sanitize("thread"))) enum store_result
store_get_value(struct store_thread *t, const void *key, size_t klen, const struct store_probe *pr,
		uint32_t now, store_value_fn fn, void *ctx)
{
	return store_get_value_inline(t, key, klen, pr, now, fn, ctx);
}
