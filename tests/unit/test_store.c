/* The store's operations, one edge case at a time, against memcached 1.6's semantics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_tap.h"
#include "store.h"
#include "store_value.h"
#include "store_internal.h"

#define T0 1700000000u /* a fixed "now" */

static struct store *s;
static struct store_thread *t;
static char vbuf[2 << 20];
static struct store_item_info info;

static void open_store(const struct store_config *cfg)
{
	struct store_config def = {.limit_bytes = 8 << 20};

	CU_ASSERT_FATAL(store_setup(cfg ? cfg : &def, &s) == 0);
	t = store_thread(s, 0);
	CU_ASSERT_FATAL(t != NULL);
}

static void close_store(void)
{
	store_teardown(s, false);
	s = NULL;
}

static enum store_result op(enum store_op o, const char *k, const char *v, int64_t exp,
			    uint32_t now)
{
	struct store_set_args a = {.op = o, .flags = 7, .exptime = exp};

	return store_set(t, k, strlen(k), v, (uint32_t)strlen(v), now, &a, NULL);
}

static enum store_result set(const char *k, const char *v, int64_t exp, uint32_t now)
{
	return op(STORE_OP_SET, k, v, exp, now);
}

/* get into vbuf (NUL-terminated); returns the result. */
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

static void test_set_get(void)
{
	open_store(NULL);
	CU_ASSERT_EQUAL(get("foo", T0), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(set("foo", "bar", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("foo", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "bar");
	CU_ASSERT_EQUAL(info.flags, 7);
	CU_ASSERT_EQUAL(info.value_len, 3);
	CU_ASSERT_EQUAL(set("foo", "bazz", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("foo", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "bazz");
	CU_ASSERT_EQUAL(set("empty", "", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("empty", T0), STORE_OK);
	CU_ASSERT_EQUAL(info.value_len, 0);
	struct store_stats st;

	store_stats(s, -1, &st);
	CU_ASSERT_EQUAL(st.curr_items, 2);
	CU_ASSERT_EQUAL(st.total_items, 3);
	CU_ASSERT_EQUAL(st.get_hits, 3);
	CU_ASSERT_EQUAL(st.get_misses, 1);
	CU_ASSERT_EQUAL(st.cmd_set, 3);
	close_store();
}

static void test_key_limits(void)
{
	char key[STORE_KEY_MAX + 2];
	struct store_set_args a = {.op = STORE_OP_SET};

	open_store(NULL);
	memset(key, 'k', sizeof(key));
	CU_ASSERT_EQUAL(store_set(t, key, STORE_KEY_MAX, "v", 1, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_set(t, key, STORE_KEY_MAX + 1, "v", 1, T0, &a, NULL), STORE_BAD_KEY);
	CU_ASSERT_EQUAL(store_set(t, key, 0, "v", 1, T0, &a, NULL), STORE_BAD_KEY);
	close_store();
}

static void test_add_replace_append_prepend(void)
{
	open_store(NULL);
	CU_ASSERT_EQUAL(op(STORE_OP_REPLACE, "k", "x", 0, T0), STORE_NOT_STORED);
	CU_ASSERT_EQUAL(op(STORE_OP_APPEND, "k", "x", 0, T0), STORE_NOT_STORED);
	CU_ASSERT_EQUAL(op(STORE_OP_PREPEND, "k", "x", 0, T0), STORE_NOT_STORED);
	CU_ASSERT_EQUAL(op(STORE_OP_ADD, "k", "mid", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(op(STORE_OP_ADD, "k", "again", 0, T0), STORE_NOT_STORED);
	CU_ASSERT_EQUAL(op(STORE_OP_APPEND, "k", "_end", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(op(STORE_OP_PREPEND, "k", "start_", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "start_mid_end");
	CU_ASSERT_EQUAL(op(STORE_OP_REPLACE, "k", "new", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "new");
	close_store();
}

static void test_append_keeps_flags_and_exptime(void)
{
	struct store_set_args a = {.op = STORE_OP_SET, .flags = 42, .exptime = 100};
	struct store_set_args ap = {.op = STORE_OP_APPEND, .flags = 1, .exptime = 5};

	open_store(NULL);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "ab", 2, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "cd", 2, T0, &ap, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(get("k", T0 + 50), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "abcd");
	CU_ASSERT_EQUAL(info.flags, 42);
	CU_ASSERT_EQUAL(info.exptime, T0 + 100);
	close_store();
}

static void test_append_beyond_item_limit(void)
{
	struct store_config cfg = {.limit_bytes = 8 << 20, .item_size_max = 64 << 10};
	static char big[40 << 10];
	struct store_set_args a = {.op = STORE_OP_SET};
	struct store_set_args ap = {.op = STORE_OP_APPEND};

	open_store(&cfg);
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(store_set(t, "k", 1, big, sizeof(big), T0, &a, NULL), STORE_STORED);
	/* memcached cannot allocate the joined item: NOT_STORED, the old value stays */
	CU_ASSERT_EQUAL(store_set(t, "k", 1, big, sizeof(big), T0, &ap, NULL), STORE_NOT_STORED);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_EQUAL(info.value_len, sizeof(big));
	/* the limit is memcached's arithmetic: 48 + 8 + key + 1 + value + 2 (+ 4 with flags) */
	CU_ASSERT_EQUAL(store_set(t, "k", 1, big, 1024, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, vbuf, (64 << 10) - 60 - 1024, T0, &ap, NULL),
			STORE_STORED);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, big, 1, T0, &ap, NULL), STORE_NOT_STORED);
	a.flags = 1;
	CU_ASSERT_EQUAL(store_set(t, "k", 1, big, 1024, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, vbuf, (64 << 10) - 64 - 1024, T0, &ap, NULL),
			STORE_STORED);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, big, 1, T0, &ap, NULL), STORE_NOT_STORED);
	a.flags = 0;
	/* A too-large set removes the old value, as memcached does. */
	CU_ASSERT_EQUAL(store_set(t, "k", 1, vbuf, 70 << 10, T0, &a, NULL), STORE_TOO_LARGE);
	CU_ASSERT_EQUAL(get("k", T0), STORE_NOT_FOUND);
	close_store();
}

static void test_cas(void)
{
	struct store_set_args a = {.op = STORE_OP_SET};
	struct store_set_args c = {.op = STORE_OP_CAS};
	uint64_t cas1, cas2, cas3;

	open_store(NULL);
	c.cas = 1;
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "a", 1, T0, &c, NULL), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "a", 1, T0, &a, &cas1), STORE_STORED);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_EQUAL(info.cas, cas1);
	c.cas = cas1 + 1000;
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "b", 1, T0, &c, NULL), STORE_EXISTS);
	c.cas = cas1;
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "b", 1, T0, &c, &cas2), STORE_STORED);
	CU_ASSERT_NOT_EQUAL(cas1, cas2);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "c", 1, T0, &c, NULL), STORE_EXISTS);
	CU_ASSERT_EQUAL(store_set(t, "other", 5, "c", 1, T0, &a, &cas3), STORE_STORED);
	CU_ASSERT(cas3 != cas2 && cas3 != cas1);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "b");
	/* append with a CAS: must match */
	struct store_set_args ap = {.op = STORE_OP_APPEND, .cas = cas2 + 1};

	CU_ASSERT_EQUAL(store_set(t, "k", 1, "x", 1, T0, &ap, NULL), STORE_EXISTS);
	ap.cas = cas2;
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "x", 1, T0, &ap, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(get("k", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "bx");
	close_store();
}

static void test_exptime_forms(void)
{
	open_store(NULL);
	CU_ASSERT_EQUAL(store_exptime(0, T0), 0);
	CU_ASSERT_EQUAL(store_exptime(10, T0), T0 + 10);
	CU_ASSERT_EQUAL(store_exptime(STORE_REALTIME_MAXDELTA, T0), T0 + STORE_REALTIME_MAXDELTA);
	CU_ASSERT_EQUAL(store_exptime(STORE_REALTIME_MAXDELTA + 1, T0),
			STORE_REALTIME_MAXDELTA + 1);
	/* relative */
	CU_ASSERT_EQUAL(set("rel", "v", 10, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("rel", T0 + 9), STORE_OK);
	CU_ASSERT_EQUAL(info.ttl, 1);
	CU_ASSERT_EQUAL(get("rel", T0 + 10), STORE_NOT_FOUND);
	/* absolute in the future */
	CU_ASSERT_EQUAL(set("abs", "v", T0 + 100, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("abs", T0 + 99), STORE_OK);
	CU_ASSERT_EQUAL(get("abs", T0 + 100), STORE_NOT_FOUND);
	/* absolute in the past (> 30 days, so absolute): expired at once */
	CU_ASSERT_EQUAL(set("past", "v", T0 - 1, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("past", T0), STORE_NOT_FOUND);
	/* negative: expired at once, and it replaces the old value */
	CU_ASSERT_EQUAL(set("neg", "v", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(set("neg", "w", -1, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("neg", T0), STORE_NOT_FOUND);
	/* never */
	CU_ASSERT_EQUAL(set("never", "v", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("never", T0 + 1000000), STORE_OK);
	CU_ASSERT_EQUAL(info.ttl, -1);
	/* add over an expired item succeeds */
	CU_ASSERT_EQUAL(op(STORE_OP_ADD, "rel", "again", 0, T0 + 20), STORE_STORED);
	close_store();
}

static void test_delete(void)
{
	open_store(NULL);
	CU_ASSERT_EQUAL(store_delete(t, "k", 1, T0, NULL), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(set("k", "v", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(store_delete(t, "k", 1, T0, NULL), STORE_OK);
	CU_ASSERT_EQUAL(get("k", T0), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(store_delete(t, "k", 1, T0, NULL), STORE_NOT_FOUND);
	close_store();
}

static void test_delete_cas(void)
{
	struct store_set_args a = {.op = STORE_OP_SET};
	struct store_delete_args d = {0};
	uint64_t cas;

	open_store(NULL);
	CU_ASSERT_EQUAL(store_set(t, "k", 1, "v", 1, T0, &a, &cas), STORE_STORED);
	d.cas = cas + 1;
	CU_ASSERT_EQUAL(store_delete(t, "k", 1, T0, &d), STORE_EXISTS);
	d.cas = cas;
	CU_ASSERT_EQUAL(store_delete(t, "k", 1, T0, &d), STORE_OK);
	close_store();
}

static enum store_result arith(const char *k, bool incr, uint64_t delta, uint64_t *out)
{
	struct store_arith_args a = {.incr = incr, .delta = delta};

	return store_arith(t, k, strlen(k), T0, &a, out, NULL);
}

static void test_incr_decr(void)
{
	uint64_t v = 0;

	open_store(NULL);
	CU_ASSERT_EQUAL(arith("n", true, 1, &v), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(set("n", "10", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(arith("n", true, 5, &v), STORE_OK);
	CU_ASSERT_EQUAL(v, 15);
	CU_ASSERT_EQUAL(get("n", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "15");
	CU_ASSERT_EQUAL(info.flags, 7);
	/* decr that shrinks the number: in place, padded with a space (memcached) */
	CU_ASSERT_EQUAL(arith("n", false, 6, &v), STORE_OK);
	CU_ASSERT_EQUAL(v, 9);
	CU_ASSERT_EQUAL(get("n", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "9 ");
	/* and incr on the padded value works and grows */
	CU_ASSERT_EQUAL(arith("n", true, 991, &v), STORE_OK);
	CU_ASSERT_EQUAL(v, 1000);
	CU_ASSERT_EQUAL(get("n", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "1000");
	CU_ASSERT_EQUAL(info.flags, 7);
	/* decr floors at 0 */
	CU_ASSERT_EQUAL(arith("n", false, 5000, &v), STORE_OK);
	CU_ASSERT_EQUAL(v, 0);
	close_store();
}

static void test_incr_wrap_and_non_numeric(void)
{
	uint64_t v = 0;

	open_store(NULL);
	CU_ASSERT_EQUAL(set("max", "18446744073709551615", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(arith("max", true, 2, &v), STORE_OK);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(set("big", "18446744073709551616", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(arith("big", true, 1, &v), STORE_NON_NUMERIC);
	CU_ASSERT_EQUAL(set("txt", "abc", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(arith("txt", true, 1, &v), STORE_NON_NUMERIC);
	CU_ASSERT_EQUAL(set("neg", "-1", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(arith("neg", false, 1, &v), STORE_NON_NUMERIC);
	CU_ASSERT_EQUAL(set("emp", "", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(arith("emp", true, 1, &v), STORE_NON_NUMERIC);
	CU_ASSERT_EQUAL(set("mix", "12a", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(arith("mix", true, 1, &v), STORE_NON_NUMERIC);
	close_store();
}

/* A value as memcached's safe_strtoull reads it (each answer checked against memcached 1.6.18). */
static void test_incr_parses_like_strtoull(void)
{
	static const struct {
		const char *v;
		uint32_t len; /* 0: strlen */
		enum store_result r;
		uint64_t out;
	} cases[] = {
	    {"59  abc", 0, STORE_OK, 60}, /* only the character after the digits counts */
	    {"59abc", 0, STORE_NON_NUMERIC, 0},
	    {" 59", 0, STORE_OK, 60}, /* leading whitespace */
	    {"\t12", 0, STORE_OK, 13},
	    {"\r\n12", 0, STORE_OK, 13},
	    {"59 ", 0, STORE_OK, 60},
	    {"1\t2", 0, STORE_OK, 2},
	    {"1\r2", 0, STORE_OK, 2},
	    {"1\0002", 3, STORE_OK, 2}, /* memcached sees the NUL as the end */
	    {"00042", 0, STORE_OK, 43},
	    {"+5", 0, STORE_OK, 6},
	    {"-0", 0, STORE_OK, 1},
	    {"-5", 0, STORE_NON_NUMERIC, 0},
	    {"-18446744073709551615", 0, STORE_OK, 2}, /* strtoull negates: 1 */
	    {"-9223372036854775808", 0, STORE_NON_NUMERIC, 0},
	    {"9223372036854775808", 0, STORE_OK, 9223372036854775809ull},
	    {"9223372036854775808 -", 0, STORE_NON_NUMERIC, 0}, /* >= 2^63 and a '-' anywhere */
	    {"18446744073709551615", 0, STORE_OK, 0},
	    {"18446744073709551616", 0, STORE_NON_NUMERIC, 0},
	    {"0x10", 0, STORE_NON_NUMERIC, 0},
	    {"1e3", 0, STORE_NON_NUMERIC, 0},
	    {"1.5", 0, STORE_NON_NUMERIC, 0},
	    {"- 5", 0, STORE_NON_NUMERIC, 0},
	    {" ", 0, STORE_NON_NUMERIC, 0},
	};
	struct store_set_args a = {.op = STORE_OP_SET};

	open_store(NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t len = cases[i].len ? cases[i].len : (uint32_t)strlen(cases[i].v);
		uint64_t v = 0;
		enum store_result r;

		CU_ASSERT_EQUAL_FATAL(store_set(t, "n", 1, cases[i].v, len, T0, &a, NULL),
				      STORE_STORED);
		r = arith("n", true, 1, &v);
		if (r != cases[i].r || (r == STORE_OK && v != cases[i].out))
			printf("# value %zu ('%s'): %s %llu\n", i, cases[i].v, store_result_name(r),
			       (unsigned long long)v);
		CU_ASSERT_EQUAL(r, cases[i].r);
		if (r == STORE_OK)
			CU_ASSERT_EQUAL(v, cases[i].out);
	}
	close_store();
}

/*
 * memcached refuses arithmetic on an empty value before it looks at the CAS,
 * and on a chunked one: over 512 KB in its size arithmetic (48 + 8 + key + 1
 * + value + 2, + 4 with client flags).
 */
static void test_incr_empty_and_chunked(void)
{
	struct store_arith_args cas = {.incr = true, .delta = 1, .cas = 1};
	struct store_set_args a = {.op = STORE_OP_SET};
	uint32_t n = 524288 - (48 + 8 + 3 + 1 + 2);
	char *big = malloc(n + 1);
	uint64_t v = 0;

	CU_ASSERT_FATAL(big != NULL);
	open_store(NULL);
	CU_ASSERT_EQUAL(set("emp", "", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(store_arith(t, "emp", 3, T0, &cas, &v, NULL), STORE_NON_NUMERIC);
	CU_ASSERT_EQUAL(set("one", "1", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(store_arith(t, "one", 3, T0, &cas, &v, NULL), STORE_EXISTS);
	memset(big, ' ', n + 1);
	big[0] = '1';
	CU_ASSERT_EQUAL(store_set(t, "big", 3, big, n, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(arith("big", true, 1, &v), STORE_OK);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(store_set(t, "big", 3, big, n + 1, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(arith("big", true, 1, &v), STORE_NON_NUMERIC);
	a.flags = 1; /* 4 bytes more in memcached */
	CU_ASSERT_EQUAL(store_set(t, "big", 3, big, n - 4, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(arith("big", true, 1, &v), STORE_OK);
	CU_ASSERT_EQUAL(store_set(t, "big", 3, big, n - 3, T0, &a, NULL), STORE_STORED);
	CU_ASSERT_EQUAL(arith("big", true, 1, &v), STORE_NON_NUMERIC);
	close_store();
	free(big);
}

static void test_touch_gat(void)
{
	struct store_get_args g = {.touch = true, .exptime = 100};

	open_store(NULL);
	CU_ASSERT_EQUAL(store_touch(t, "k", 1, T0, 10), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(set("k", "v", 10, T0), STORE_STORED);
	CU_ASSERT_EQUAL(store_touch(t, "k", 1, T0, 50), STORE_OK);
	CU_ASSERT_EQUAL(get("k", T0 + 20), STORE_OK);
	CU_ASSERT_EQUAL(info.ttl, 30);
	CU_ASSERT_EQUAL(store_mget(t, "k", 1, T0 + 20, &g, NULL, &info), STORE_OK);
	CU_ASSERT_EQUAL(info.ttl, 30); /* before the touch */
	CU_ASSERT_EQUAL(get("k", T0 + 110), STORE_OK);
	CU_ASSERT_EQUAL(get("k", T0 + 120), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(store_mget(t, "k", 1, T0 + 120, &g, NULL, &info), STORE_NOT_FOUND);
	struct store_stats st;

	store_stats(s, -1, &st);
	CU_ASSERT_EQUAL(st.cmd_touch, 4);
	CU_ASSERT_EQUAL(st.touch_hits, 2);
	CU_ASSERT_EQUAL(st.touch_misses, 2);
	close_store();
}

static void test_flush(void)
{
	open_store(NULL);
	CU_ASSERT_EQUAL(set("a", "1", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(set("b", "2", 0, T0), STORE_STORED);
	store_flush(s, T0, 0);
	CU_ASSERT_EQUAL(get("a", T0), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(get("b", T0), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(op(STORE_OP_ADD, "a", "3", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(get("a", T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "3");
	close_store();
}

static void test_flush_delay(void)
{
	open_store(NULL);
	CU_ASSERT_EQUAL(set("a", "1", 0, T0), STORE_STORED);
	store_flush(s, T0, 10);
	CU_ASSERT_EQUAL(get("a", T0 + 9), STORE_OK);
	CU_ASSERT_EQUAL(set("b", "2", 0, T0 + 5), STORE_STORED);
	CU_ASSERT_EQUAL(get("a", T0 + 10), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(get("b", T0 + 10), STORE_NOT_FOUND);
	CU_ASSERT_EQUAL(set("c", "3", 0, T0 + 11), STORE_STORED);
	CU_ASSERT_EQUAL(get("c", T0 + 12), STORE_OK);
	close_store();
}

/*
 * store_probe/store_probe_item and store_prefetch are hints: for present and
 * absent keys they change nothing (no counter, no access recorded, no item),
 * and the gets after them answer as before. A probe holds the key's hash.
 */
static void test_prefetch(void)
{
	struct store_config cfg = {.limit_bytes = 8 << 20, .partitions = 3};
	const char *const keys[] = {"a", "b", "missing", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"};
	struct store_probe pr[200];
	struct store_stats st0, st1;
	char k[16];

	open_store(&cfg);
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		CU_ASSERT_EQUAL_FATAL(set(k, "v", 0, T0), STORE_STORED);
	}
	CU_ASSERT_EQUAL(set("a", "1", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(set("b", "22", 0, T0), STORE_STORED);
	CU_ASSERT_EQUAL(set(keys[3], "333", 0, T0), STORE_STORED);
	store_stats(s, -1, &st0);
	for (int i = 0; i < 4; i++) {
		uint64_t h = store_hash(keys[i], strlen(keys[i]));

		store_probe(t, keys[i], strlen(keys[i]), &pr[i]);
		CU_ASSERT_EQUAL(pr[i].hash, h);
		store_probe_item(&pr[i]);
		store_prefetch(t, h, false);
		store_prefetch(t, h, true);
	}
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		store_probe(t, k, strlen(k), &pr[i]);
		CU_ASSERT_EQUAL(pr[i].hash, store_hash(k, strlen(k)));
	}
	for (int i = 0; i < 200; i++)
		store_probe_item(&pr[i]);
	store_stats(s, -1, &st1);
	CU_ASSERT_EQUAL(memcmp(&st0, &st1, sizeof(st0)), 0);
	CU_ASSERT_EQUAL(get("a", T0 + 1), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "1");
	CU_ASSERT_EQUAL(info.fetched, false); /* the prefetches did not count as accesses */
	CU_ASSERT_EQUAL(info.last_access, 1); /* seconds since the set */
	CU_ASSERT_EQUAL(get(keys[3], T0), STORE_OK);
	CU_ASSERT_STRING_EQUAL(vbuf, "333");
	CU_ASSERT_EQUAL(get("missing", T0), STORE_NOT_FOUND);
	close_store();
}

/* slab_class_for's table answers as a search of the class sizes would, for any layout. */
static void test_class_table(void)
{
	static const double growth[] = {1.25, 1.07, 2.0, 1.5};
	static const uint32_t chunk_min[] = {48, 50, 96, 1000};
	static const uint32_t item_max[] = {1u << 20, 1024, 1100, 4000, 4096, 5003};

	for (unsigned g = 0; g < 4; g++) {
		for (unsigned c = 0; c < 4; c++) {
			for (unsigned m = 0; m < 6; m++) {
				struct store_config cfg = {.limit_bytes = 4 << 20,
							   .growth_factor = growth[g],
							   .chunk_min = chunk_min[c],
							   .item_size_max = item_max[m]};
				const struct arena_layout *l;
				struct store *st;

				CU_ASSERT_FATAL(store_setup(&cfg, &st) == 0);
				l = &st->hdr->layout;
				for (uint32_t total = 0; total <= l->item_size_max + 16 && total < 10000;
				     total++) {
					unsigned want = 0;

					for (unsigned k = 1; k <= l->nclasses && !want; k++)
						if (l->class_size[k] >= total)
							want = k;
					CU_ASSERT_EQUAL_FATAL(slab_class_for(st, total), want);
				}
				store_teardown(st, false);
			}
		}
	}
}

static struct cunit_test tests[] = {
    {"class_table", test_class_table},
    {"set_get", test_set_get},
    {"key_limits", test_key_limits},
    {"add_replace_append_prepend", test_add_replace_append_prepend},
    {"append_keeps_flags_and_exptime", test_append_keeps_flags_and_exptime},
    {"append_beyond_item_limit", test_append_beyond_item_limit},
    {"cas", test_cas},
    {"exptime_forms", test_exptime_forms},
    {"delete", test_delete},
    {"delete_cas", test_delete_cas},
    {"incr_decr", test_incr_decr},
    {"incr_wrap_and_non_numeric", test_incr_wrap_and_non_numeric},
    {"incr_parses_like_strtoull", test_incr_parses_like_strtoull},
    {"incr_empty_and_chunked", test_incr_empty_and_chunked},
    {"touch_gat", test_touch_gat},
    {"flush", test_flush},
    {"flush_delay", test_flush_delay},
    {"prefetch", test_prefetch},
    {NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("store", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
