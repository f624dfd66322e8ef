/*
 * Meta semantics of the store: vivify, invalidate (stale), win/Z tokens,
 * recache, the lease rate limit, hold-off tombstones, and values that arrive
 * in pieces (reserve/commit). Expected results are memcached 1.6.18's.
 */
#include <string.h>

#include "cunit_tap.h"
#include "store.h"

#define T0 1700000000u

static struct store *s;
static struct store_thread *t;
static struct store_item_info info;
static char vbuf[4096];

static void open_store(uint32_t lease_ttl)
{
	struct store_config cfg = {.limit_bytes = 8 << 20, .lease_ttl = lease_ttl};

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
}

static void close_store(void)
{
	store_teardown(s, false);
}

static enum store_result set(const char *k, const char *v, int64_t exp, uint64_t *cas)
{
	struct store_set_args a = {.op = STORE_OP_SET, .exptime = exp};

	return store_set(t, k, strlen(k), v, (uint32_t)strlen(v), T0, &a, cas);
}

static enum store_result mget(const char *k, uint32_t now, const struct store_get_args *a)
{
	struct store_sink sink;
	struct store_buf b;
	enum store_result r;

	store_sink_buf(&sink, &b, vbuf, sizeof(vbuf) - 1);
	r = store_mget(t, k, strlen(k), now, a, &sink, &info);
	vbuf[r == STORE_OK ? b.len : 0] = 0;
	return r;
}

static enum store_result get(const char *k, uint32_t now)
{
	struct store_sink sink;
	struct store_buf b;
	enum store_result r;

	store_sink_buf(&sink, &b, vbuf, sizeof(vbuf) - 1);
	r = store_get(t, k, strlen(k), now, &sink, &info);
	vbuf[r == STORE_OK ? b.len : 0] = 0;
	return r;
}

static void test_vivify(void)
{
	struct store_get_args n = {.vivify = true, .vivify_exptime = 30};

	open_store(0);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(mget("foo", T0, &n), STORE_OK);
	CU_ASSERT(info.win && info.created && !info.win_sent && !info.stale);
	CU_ASSERT_EQUAL(info.value_len, 0);
	CU_ASSERT_EQUAL(mget("foo", T0 + 1, &n), STORE_OK);
	CU_ASSERT(!info.win && info.win_sent && !info.created);
	CU_ASSERT_EQUAL(info.ttl, 29);
	/* plain readers see the empty placeholder too */
	CU_ASSERT_EQUAL(mget("foo", T0 + 1, NULL), STORE_OK);
	CU_ASSERT(info.win_sent);
	/* the winner's set replaces it: no token any more */
	CU_ASSERT_EQUAL(set("foo", "hi", 60, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("foo", T0 + 2, &n), STORE_OK);
	CU_ASSERT(!info.win && !info.win_sent);
	CU_ASSERT_STRING_EQUAL(vbuf, "hi");
	/* the placeholder expires with its TTL */
	CU_ASSERT_EQUAL(mget("bar", T0, &n), STORE_OK);
	CU_ASSERT_EQUAL(mget("bar", T0 + 30, NULL), STORE_NOT_FOUND);
	close_store();
}

static void test_invalidate(void)
{
	struct store_delete_args inv = {.invalidate = true, .set_exptime = true, .exptime = 30};
	uint64_t cas0;

	open_store(0);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &inv), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(set("foo", "hi", 0, &cas0), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
	CU_ASSERT(info.stale && info.win && !info.win_sent);
	CU_ASSERT(info.cas > cas0); /* the CAS was bumped */
	CU_ASSERT_STRING_EQUAL(vbuf, "hi");
	CU_ASSERT_EQUAL(info.ttl, 30);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
	CU_ASSERT(info.stale && !info.win && info.win_sent);
	/* a plain get still returns the stale value (memcached does) */
	CU_ASSERT_EQUAL(get("foo", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "hi");
	/* add fails on the stale item */
	struct store_set_args add = {.op = STORE_OP_ADD};

	CU_ASSERT_EQUAL(store_set(t, "foo", 3, "x", 1, T0, &add, NULL), STORE_NOT_STORED);
	/* a second invalidation re-arms one win */
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
	CU_ASSERT(info.win);
	close_store();
}

static void test_set_stale_with_old_cas(void)
{
	struct store_delete_args inv = {.invalidate = true};
	struct store_set_args ms = {.op = STORE_OP_CAS, .set_stale = true};
	uint64_t cas0, cas1;

	open_store(0);
	CU_ASSERT_EQUAL(set("foo", "hi", 0, &cas0), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK); /* takes the win */
	CU_ASSERT(info.win);
	/* older CAS with I: stored, still stale, token kept */
	ms.cas = cas0;
	CU_ASSERT_EQUAL(store_set(t, "foo", 3, "new", 3, T0, &ms, &cas1), STORE_STORED);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
	CU_ASSERT(info.stale && info.win_sent && !info.win);
	CU_ASSERT_STRING_EQUAL(vbuf, "new");
	/* without I, the older CAS is refused */
	ms.set_stale = false;
	CU_ASSERT_EQUAL(store_set(t, "foo", 3, "x", 1, T0, &ms, NULL), STORE_EXISTS);
	/* the current CAS stores a fresh item */
	ms.cas = cas1;
	CU_ASSERT_EQUAL(store_set(t, "foo", 3, "fresh", 5, T0, &ms, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
	CU_ASSERT(!info.stale && !info.win && !info.win_sent);
	close_store();
}

static void test_recache(void)
{
	struct store_get_args r = {.recache = true, .recache_ttl = 30};

	open_store(0);
	CU_ASSERT_EQUAL(set("foo", "v", 100, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("foo", T0 + 10, &r), STORE_OK);
	CU_ASSERT(!info.win);
	CU_ASSERT_EQUAL(mget("foo", T0 + 80, &r), STORE_OK);
	CU_ASSERT(info.win);
	CU_ASSERT_EQUAL(mget("foo", T0 + 81, &r), STORE_OK);
	CU_ASSERT(!info.win && info.win_sent);
	close_store();
}

static void test_lease_rate_limit(void)
{
	struct store_get_args n = {.vivify = true, .vivify_exptime = 3};
	struct store_delete_args inv = {.invalidate = true};

	open_store(10);
	CU_ASSERT_EQUAL(mget("foo", T0, &n), STORE_OK);
	CU_ASSERT(info.win);
	/* the placeholder expires at T0+3; a new miss within the lease: no win */
	CU_ASSERT_EQUAL(mget("foo", T0 + 5, &n), STORE_OK);
	CU_ASSERT(!info.win && info.win_sent);
	/* an invalidation inside the lease does not hand out a second win either */
	CU_ASSERT_EQUAL(set("foo", "v", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0 + 6, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("foo", T0 + 6, NULL), STORE_OK);
	CU_ASSERT(info.stale && !info.win && info.win_sent);
	/* once the lease interval has passed, one more win */
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0 + 10, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("foo", T0 + 10, NULL), STORE_OK);
	CU_ASSERT(info.win);
	CU_ASSERT_EQUAL(mget("foo", T0 + 11, NULL), STORE_OK);
	CU_ASSERT(!info.win);
	close_store();
}

static void test_memcached_mode_rearms_per_invalidation(void)
{
	struct store_delete_args inv = {.invalidate = true};

	open_store(0);
	CU_ASSERT_EQUAL(set("foo", "v", 0, NULL), STORE_STORED);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &inv), STORE_OK);
		CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
		CU_ASSERT(info.win);
	}
	close_store();
}

static void test_holdoff(void)
{
	struct store_delete_args hold = {.holdoff = 2};
	struct store_set_args add = {.op = STORE_OP_ADD};
	struct store_set_args setv = {.op = STORE_OP_SET};

	open_store(0);
	CU_ASSERT_EQUAL(set("foo", "v", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &hold), STORE_OK);
	CU_ASSERT_EQUAL(get("foo", T0), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(store_set(t, "foo", 3, "w", 1, T0 + 1, &add, NULL), STORE_NOT_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0 + 1, NULL), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(store_set(t, "foo", 3, "w", 1, T0 + 2, &add, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(get("foo", T0 + 2), STORE_OK);
	/* a key that was not there is held off too (the cold-cluster rule) */
	CU_ASSERT_EQUAL(store_delete(t, "bar", 3, T0, &hold), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(store_set(t, "bar", 3, "w", 1, T0, &add, NULL), STORE_NOT_STORED);
	/* set overrides a hold-off */
	CU_ASSERT_EQUAL(store_set(t, "bar", 3, "w", 1, T0, &setv, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(get("bar", T0), STORE_OK);
	close_store();
}

static void test_arith_vivify(void)
{
	struct store_arith_args a = {
	    .incr = true, .delta = 5, .vivify = true, .initial = 100, .vivify_exptime = 60};
	uint64_t v = 0;

	open_store(0);
	CU_ASSERT_EQUAL(store_arith(t, "c", 1, T0, &a, &v, &info), STORE_OK);
	CU_ASSERT_EQUAL(v, 100);
	CU_ASSERT(info.created);
	CU_ASSERT_EQUAL(info.ttl, 60);
	CU_ASSERT_EQUAL(store_arith(t, "c", 1, T0, &a, &v, &info), STORE_OK);
	CU_ASSERT_EQUAL(v, 105);
	CU_ASSERT(!info.created);
	a.cas = info.cas + 1;
	CU_ASSERT_EQUAL(store_arith(t, "c", 1, T0, &a, &v, &info), STORE_EXISTS);
	close_store();
}

/* gat takes no lease: a stale item's win is left for the next meta get. */
static void test_gat_takes_no_win(void)
{
	struct store_delete_args inv = {.invalidate = true};
	struct store_get_args gat = {.touch = true, .exptime = 100, .no_lease = true};

	open_store(0);
	CU_ASSERT_EQUAL(set("foo", "hi", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("foo", T0, &gat), STORE_OK);
	CU_ASSERT(!info.win && !info.win_sent);
	CU_ASSERT_STRING_EQUAL(vbuf, "hi");
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
	CU_ASSERT(info.stale && info.win && !info.win_sent);
	CU_ASSERT_EQUAL(info.ttl, 100); /* the gat's touch did apply */
	close_store();
}

/*
 * The fetched bit (meta h), as memcached keeps it: an item mg N creates is
 * fetched once that mg is over (unless u); incr/decr are no read; a winning
 * read of a stale item reports h and l from before it.
 */
static void test_fetched(void)
{
	struct store_get_args n = {.vivify = true, .vivify_exptime = 30};
	struct store_get_args nu = {.vivify = true, .vivify_exptime = 30, .no_bump = true};
	struct store_delete_args inv = {.invalidate = true};
	struct store_arith_args incr = {.incr = true, .delta = 1};
	uint64_t v;

	open_store(0);
	CU_ASSERT_EQUAL(mget("viv", T0, &n), STORE_OK);
	CU_ASSERT(info.created && !info.fetched);
	CU_ASSERT_EQUAL(mget("viv", T0, &n), STORE_OK);
	CU_ASSERT(!info.created && info.fetched);
	CU_ASSERT_EQUAL(mget("vivu", T0, &nu), STORE_OK);
	CU_ASSERT_EQUAL(mget("vivu", T0, NULL), STORE_OK);
	CU_ASSERT(!info.fetched);

	CU_ASSERT_EQUAL(set("n", "5", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_arith(t, "n", 1, T0, &incr, &v, NULL), STORE_OK);
	CU_ASSERT_EQUAL(mget("n", T0, NULL), STORE_OK);
	CU_ASSERT(!info.fetched);
	CU_ASSERT_EQUAL(mget("n", T0, NULL), STORE_OK);
	CU_ASSERT(info.fetched);
	/* in place (6 -> 7): still fetched */
	CU_ASSERT_EQUAL(store_arith(t, "n", 1, T0, &incr, &v, NULL), STORE_OK);
	CU_ASSERT_EQUAL(mget("n", T0, NULL), STORE_OK);
	CU_ASSERT(info.fetched);
	/* a longer number is a new item, not fetched */
	incr.delta = 100;
	CU_ASSERT_EQUAL(store_arith(t, "n", 1, T0, &incr, &v, NULL), STORE_OK);
	CU_ASSERT_EQUAL(mget("n", T0, NULL), STORE_OK);
	CU_ASSERT(!info.fetched);

	CU_ASSERT_EQUAL(set("st", "x", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "st", 2, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("st", T0 + 5, NULL), STORE_OK);
	CU_ASSERT(info.win && !info.fetched);
	CU_ASSERT_EQUAL(info.last_access, 5);
	CU_ASSERT_EQUAL(mget("st", T0 + 5, NULL), STORE_OK);
	CU_ASSERT(info.win_sent && info.fetched);
	close_store();
}

/*
 * incr/decr: a result that fits is written in place and the item stays stale
 * (with its token); a longer one is a new item, neither stale nor binary.
 */
static void test_arith_new_item_is_fresh(void)
{
	struct store_delete_args inv = {.invalidate = true};
	struct store_arith_args incr = {.incr = true, .delta = 1};
	struct store_set_args bin = {.op = STORE_OP_SET, .key_binary = true};
	uint64_t v;

	open_store(0);
	CU_ASSERT_EQUAL(set("n", "10", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "n", 1, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(store_arith(t, "n", 1, T0, &incr, &v, NULL), STORE_OK);
	CU_ASSERT_EQUAL(mget("n", T0, NULL), STORE_OK);
	CU_ASSERT(info.stale && info.win);
	CU_ASSERT_STRING_EQUAL(vbuf, "11");
	CU_ASSERT_EQUAL(store_set(t, "m", 1, "9", 1, T0, &bin, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "m", 1, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(mget("m", T0, NULL), STORE_OK);
	CU_ASSERT(info.stale && info.win && info.key_binary);
	CU_ASSERT_EQUAL(store_arith(t, "m", 1, T0, &incr, &v, NULL), STORE_OK);
	CU_ASSERT_EQUAL(mget("m", T0, NULL), STORE_OK);
	CU_ASSERT(!info.stale && !info.win && !info.win_sent && !info.key_binary);
	CU_ASSERT_STRING_EQUAL(vbuf, "10");
	close_store();
}

/* ms b: the item remembers a binary key; append/prepend make a new item that does not. */
static void test_key_binary(void)
{
	struct store_set_args bin = {.op = STORE_OP_SET, .key_binary = true};
	struct store_set_args app = {.op = STORE_OP_APPEND, .key_binary = true};
	struct store_delete_args inv = {.invalidate = true};
	struct store_set_args stale = {
	    .op = STORE_OP_CAS, .set_stale = true, .cas = 1, .key_binary = true};

	open_store(0);
	CU_ASSERT_EQUAL(store_set(t, "abc", 3, "x", 1, T0, &bin, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("abc", T0, NULL), STORE_OK);
	CU_ASSERT(info.key_binary);
	CU_ASSERT_EQUAL(store_set(t, "abc", 3, "y", 1, T0, &app, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("abc", T0, NULL), STORE_OK);
	CU_ASSERT(!info.key_binary);
	CU_ASSERT_STRING_EQUAL(vbuf, "xy");
	CU_ASSERT_EQUAL(store_delete(t, "abc", 3, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(store_set(t, "abc", 3, "z", 1, T0, &stale, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("abc", T0, NULL), STORE_OK);
	CU_ASSERT(info.key_binary && info.stale);
	CU_ASSERT_EQUAL(set("abc", "w", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("abc", T0, NULL), STORE_OK);
	CU_ASSERT(!info.key_binary);
	close_store();
}

/* md C0 never matches (memcached compares even a 0); a CAS store with I and C0 is no stale set. */
static void test_cas_zero(void)
{
	struct store_delete_args c0 = {.has_cas = true};
	struct store_delete_args inv = {.invalidate = true};
	struct store_set_args ms = {.op = STORE_OP_CAS, .set_stale = true};

	open_store(0);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &c0), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(set("foo", "hi", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &c0), STORE_EXISTS);
	CU_ASSERT_EQUAL(store_delete(t, "foo", 3, T0, &inv), STORE_OK);
	CU_ASSERT_EQUAL(store_set(t, "foo", 3, "x", 1, T0, &ms, NULL), STORE_EXISTS);
	CU_ASSERT_EQUAL(mget("foo", T0, NULL), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "hi");
	close_store();
}

/* mg T before R: R looks at the TTL the touch sets. */
static void test_recache_after_touch(void)
{
	struct store_get_args r = {
	    .recache = true, .recache_ttl = 30, .touch = true, .exptime = 20};

	open_store(0);
	CU_ASSERT_EQUAL(set("foo", "hi", 0, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("foo", T0, &r), STORE_OK); /* R before T: no TTL yet */
	CU_ASSERT(!info.win);
	r.recache_after_touch = true;
	CU_ASSERT_EQUAL(mget("foo", T0, &r), STORE_OK);
	CU_ASSERT(info.win);
	CU_ASSERT_EQUAL(info.ttl, 20);
	r.exptime = 0; /* T0: never expires, so no recache */
	CU_ASSERT_EQUAL(set("bar", "hi", 100, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(mget("bar", T0, &r), STORE_OK);
	CU_ASSERT(!info.win);
	close_store();
}

/* ma T: applied in place; lost when the number grows (memcached touches the replaced item). */
static void test_arith_touch(void)
{
	struct store_arith_args a = {.incr = true, .delta = 1, .touch = true, .exptime = 30};
	uint64_t v;

	open_store(0);
	CU_ASSERT_EQUAL(set("n", "5", 100, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_arith(t, "n", 1, T0, &a, &v, &info), STORE_OK);
	CU_ASSERT_EQUAL(info.ttl, 100); /* info: before the touch */
	CU_ASSERT_EQUAL(mget("n", T0, NULL), STORE_OK);
	CU_ASSERT_EQUAL(info.ttl, 30);
	a.delta = 100;
	a.exptime = 10;
	CU_ASSERT_EQUAL(store_arith(t, "n", 1, T0, &a, &v, &info), STORE_OK);
	CU_ASSERT_EQUAL(v, 106);
	CU_ASSERT_EQUAL(mget("n", T0, NULL), STORE_OK);
	CU_ASSERT_EQUAL(info.ttl, 30);
	close_store();
}

static void test_reserve_commit(void)
{
	struct store_set_args setv = {.op = STORE_OP_SET, .flags = 9};
	struct store_set_args add = {.op = STORE_OP_ADD};
	struct store_set_args app = {.op = STORE_OP_APPEND};
	struct store_pending p;
	struct store_stats st;

	open_store(0);
	CU_ASSERT_EQUAL(store_reserve(t, "k", 1, 6, T0, &p), STORE_OK);
	CU_ASSERT_EQUAL(get("k", T0), STORE_NOT_FOUND); /* invisible until committed */
	store_pending_write(&p, 0, "abc", 3);
	store_pending_write(&p, 3, "def", 3);
	CU_ASSERT_EQUAL(store_commit(t, &p, T0, &setv, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "abcdef");
	CU_ASSERT_EQUAL(info.flags, 9);
	/* a refused commit frees the reservation */
	CU_ASSERT_EQUAL(store_reserve(t, "k", 1, 1, T0, &p), STORE_OK);
	memcpy(store_pending_data(&p), "z", 1);
	CU_ASSERT_EQUAL(store_commit(t, &p, T0, &add, NULL), STORE_NOT_STORED);
	/* append through a reservation */
	CU_ASSERT_EQUAL(store_reserve(t, "k", 1, 2, T0, &p), STORE_OK);
	store_pending_write(&p, 0, "gh", 2);
	CU_ASSERT_EQUAL(store_commit(t, &p, T0, &app, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "abcdefgh");
	/* abort */
	CU_ASSERT_EQUAL(store_reserve(t, "x", 1, 100, T0, &p), STORE_OK);
	store_abort(t, &p);
	CU_ASSERT_EQUAL(get("x", T0), STORE_NOT_FOUND);
	store_stats(s, -1, &st);
	CU_ASSERT_EQUAL(st.curr_items, 1);
	struct store_class_stats cs;
	uint64_t used = 0;

	for (unsigned c = 1; c <= store_classes(s); c++) {
		store_class_stats(s, -1, c, T0, &cs);
		used += cs.used_chunks;
	}
	CU_ASSERT_EQUAL(used, 1); /* no chunk leaked by refused/aborted reservations */
	close_store();
}

static struct cunit_test tests[] = {
    {"vivify", test_vivify},
    {"invalidate", test_invalidate},
    {"set_stale_with_old_cas", test_set_stale_with_old_cas},
    {"recache", test_recache},
    {"lease_rate_limit", test_lease_rate_limit},
    {"memcached_mode_rearms_per_invalidation", test_memcached_mode_rearms_per_invalidation},
    {"holdoff", test_holdoff},
    {"arith_vivify", test_arith_vivify},
    {"reserve_commit", test_reserve_commit},
    {"gat_takes_no_win", test_gat_takes_no_win},
    {"fetched", test_fetched},
    {"arith_new_item_is_fresh", test_arith_new_item_is_fresh},
    {"key_binary", test_key_binary},
    {"cas_zero", test_cas_zero},
    {"recache_after_touch", test_recache_after_touch},
    {"arith_touch", test_arith_touch},
    {NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("store_meta", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
