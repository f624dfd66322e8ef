/*
 * The store's memory: the hard limit under 10x overfill with mixed sizes,
 * eviction order, lazy and proactive expiry, the transient item cache, slab
 * rebalancing, and hot restart from a memory file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "cunit_tap.h"
#include "store.h"

#define T0 1700000000u

static struct store *s;
static struct store_thread *t;
static char vbuf[1 << 20];
static struct store_item_info info;
static char logged[512];

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	snprintf(logged, sizeof(logged), "%s", line);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A value whose bytes are a function of (key, length): checkable later. */
static void fill_value(char *v, uint32_t len, uint64_t k)
{
	for (uint32_t i = 0; i < len; i++)
		v[i] = (char)('a' + (k * 31 + i) % 26);
}

static bool value_ok(const char *v, uint32_t len, uint64_t k)
{
	for (uint32_t i = 0; i < len; i++)
		if (v[i] != (char)('a' + (k * 31 + i) % 26))
			return false;
	return true;
}

/* Many small values, a long tail (as in the paper's workloads). */
static uint32_t mixed_size(void)
{
	uint64_t r = xorshift() % 1000;

	if (r < 700)
		return 10 + xorshift() % 90;
	if (r < 950)
		return 100 + xorshift() % 900;
	if (r < 995)
		return 1000 + xorshift() % 15000;
	return 16000 + xorshift() % 200000;
}

static enum store_result get_key(uint64_t k, uint32_t now)
{
	char key[32];
	struct store_sink sink;
	struct store_buf b;
	int n = snprintf(key, sizeof(key), "key:%llu", (unsigned long long)k);

	store_sink_buf(&sink, &b, vbuf, sizeof(vbuf));
	return store_get(t, key, (size_t)n, now, &sink, &info);
}

/* get_key without a bump: the LRU order stays; the value is checked. */
static enum store_result peek_key(uint64_t k, uint32_t now)
{
	struct store_get_args a = {.no_bump = true};
	char key[32];
	struct store_sink sink;
	struct store_buf b;
	int n = snprintf(key, sizeof(key), "key:%llu", (unsigned long long)k);
	enum store_result r;

	store_sink_buf(&sink, &b, vbuf, sizeof(vbuf));
	r = store_mget(t, key, (size_t)n, now, &a, &sink, &info);
	if (r == STORE_OK && (info.flags != (uint32_t)k || !value_ok(vbuf, info.value_len, k)))
		return STORE_ABORTED;
	return r;
}

static enum store_result set_key(uint64_t k, uint32_t len, int64_t exp, uint32_t now)
{
	struct store_set_args a = {.op = STORE_OP_SET, .flags = (uint32_t)k, .exptime = exp};
	char key[32];
	int n = snprintf(key, sizeof(key), "key:%llu", (unsigned long long)k);

	fill_value(vbuf, len, k);
	return store_set(t, key, (size_t)n, vbuf, len, now, &a, NULL);
}

static void check_limits(void)
{
	struct store_stats st;
	uint64_t used_bytes = 0, items = 0;

	store_stats(s, -1, &st);
	CU_ASSERT(st.total_malloced <= st.limit_maxbytes);
	for (unsigned c = 1; c <= store_classes(s); c++) {
		struct store_class_stats cs;

		store_class_stats(s, -1, c, T0, &cs);
		used_bytes += cs.total_pages * store_config(s)->item_size_max;
		items += cs.number;
		CU_ASSERT(cs.used_chunks <= cs.total_chunks);
		CU_ASSERT(cs.mem_requested <= cs.used_chunks * cs.chunk_size);
	}
	CU_ASSERT(used_bytes <= st.limit_maxbytes);
	CU_ASSERT_EQUAL(items, st.curr_items);
}

static void test_limit_under_overfill(void)
{
	struct store_config cfg = {.limit_bytes = 64 << 20, .partitions = 2, .threads = 1};
	struct store_stats st;
	uint64_t written = 0, k = 0, ok = 0, hits = 0;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	uint64_t nomem = 0;

	/* Time passes (1000 sets a second) and the owner runs its maintenance. */
	while (written < 10 * cfg.limit_bytes) {
		uint32_t len = mixed_size();
		enum store_result r = set_key(k, len, 0, T0 + k / 1000);

		k++;

		/* A class without a page when no class can spare one: memcached's OOM. */
		nomem += r == STORE_NO_MEMORY;
		CU_ASSERT(r == STORE_STORED || r == STORE_NO_MEMORY);
		written += len;
		if ((k & 4095) == 0) {
			check_limits();
			store_maintain(s, 0, T0 + k / 1000, 64);
			store_maintain(s, 1, T0 + k / 1000, 64);
		}
	}
	CU_ASSERT(nomem * 100 < k);
	check_limits();
	store_stats(s, -1, &st);
	CU_ASSERT(st.evictions > 0);
	printf("# overfill: %llu sets, %llu out of memory, %llu items, %llu evictions, %llu pages "
	       "moved\n",
	       (unsigned long long)k, (unsigned long long)nomem, (unsigned long long)st.curr_items,
	       (unsigned long long)st.evictions, (unsigned long long)st.slabs_moved);
	CU_ASSERT(st.curr_items > 1000);
	/* every survivor is intact */
	for (uint64_t i = 0; i < k; i++) {
		if (get_key(i, T0 + k / 1000) != STORE_OK)
			continue;
		hits++;
		ok += info.flags == (uint32_t)i && value_ok(vbuf, info.value_len, i);
	}
	CU_ASSERT_EQUAL(hits, st.curr_items);
	CU_ASSERT_EQUAL(ok, hits);
	/* the most recent items are the ones kept */
	CU_ASSERT_EQUAL(get_key(0, T0 + k / 1000), STORE_NOT_FOUND);
	store_teardown(s, false);
}

static void test_lru_keeps_read_items(void)
{
	struct store_config cfg = {.limit_bytes = 4 << 20};
	uint64_t k;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	for (k = 0; k < 100; k++)
		CU_ASSERT(set_key(k, 200, 0, T0) == STORE_STORED);
	/* keep reading the first 10 while writing 20x more than fits */
	for (; k < 200000; k++) {
		CU_ASSERT(set_key(k, 200, 0, T0 + 1) == STORE_STORED);
		if (k % 1000 == 0)
			for (uint64_t h = 0; h < 10; h++)
				get_key(h, T0 + 1);
	}
	for (uint64_t h = 0; h < 10; h++)
		CU_ASSERT_EQUAL(get_key(h, T0 + 1), STORE_OK);
	CU_ASSERT_EQUAL(get_key(50, T0 + 1), STORE_NOT_FOUND);
	store_teardown(s, false);
}

/*
 * Sets that replace the oldest item when memory is full: the allocation for
 * the new item evicts the very item it replaces (or others of its chain),
 * and the set must link the new one in the index as it stands after that.
 */
static void test_replace_evicts_old(void)
{
	struct store_config cfg = {.limit_bytes = 4 << 20};
	struct store_stats st;
	uint64_t k = 0, lo, hits = 0, ok = 0, evicted, lost = 0;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	/* fill until the first eviction: the oldest item is now the LRU's tail */
	do {
		CU_ASSERT_FATAL(set_key(k++, 200, 0, T0) == STORE_STORED);
		store_stats(s, -1, &st);
	} while (st.evictions == 0);
	lo = k - st.curr_items;
	evicted = st.evictions;
	/*
	 * Set them again, oldest first: each allocation evicts the item it
	 * replaces. The item set just before must stay intact (read without
	 * a bump, so that the LRU order stays as it is).
	 */
	for (int round = 0; round < 3; round++) {
		for (uint64_t i = lo; i < k; i++) {
			CU_ASSERT(set_key(i, 200, 0, T0) == STORE_STORED);
			if (i > lo && peek_key(i - 1, T0) != STORE_OK)
				lost++;
		}
	}
	CU_ASSERT_EQUAL(lost, 0);
	check_limits();
	store_stats(s, -1, &st);
	CU_ASSERT(st.evictions > evicted);
	for (uint64_t i = 0; i < k; i++) {
		if (get_key(i, T0) != STORE_OK)
			continue;
		hits++;
		ok += info.flags == (uint32_t)i && value_ok(vbuf, info.value_len, i);
	}
	CU_ASSERT(hits > 1000);
	CU_ASSERT_EQUAL(hits, st.curr_items);
	CU_ASSERT_EQUAL(ok, hits);
	store_teardown(s, false);
}

static void test_expiry_reclaim(void)
{
	struct store_config cfg = {.limit_bytes = 4 << 20};
	struct store_stats st;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	for (uint64_t k = 0; k < 1000; k++)
		CU_ASSERT(set_key(k, 100, k < 500 ? 10 : 0, T0) == STORE_STORED);
	/* lazily: an expired item is a miss */
	CU_ASSERT_EQUAL(get_key(1, T0 + 10), STORE_NOT_FOUND);
	/* proactively: maintenance frees expired items without being asked */
	unsigned done = 0;

	for (int i = 0; i < 200; i++)
		done += store_maintain(s, 0, T0 + 10, 64);
	store_stats(s, -1, &st);
	CU_ASSERT_EQUAL(st.curr_items, 500);
	CU_ASSERT_EQUAL(st.reclaimed, 500);
	CU_ASSERT_EQUAL(st.expired_unfetched, 500);
	CU_ASSERT(done >= 500);
	CU_ASSERT_EQUAL(get_key(999, T0 + 10), STORE_OK);
	store_teardown(s, false);
}

static void test_transient_cache(void)
{
	struct store_config cfg = {.limit_bytes = 4 << 20, .transient_ttl_max = 60};
	struct store_stats st;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	for (uint64_t k = 0; k < 300; k++)
		CU_ASSERT(set_key(k, 50, k < 100 ? 5 : k < 200 ? 30 : 0, T0) == STORE_STORED);
	CU_ASSERT_EQUAL(get_key(0, T0 + 4), STORE_OK);
	store_maintain(s, 0, T0 + 4, 1000);
	store_stats(s, -1, &st);
	CU_ASSERT_EQUAL(st.transient_freed, 0);
	store_maintain(s, 0, T0 + 5, 1000);
	store_stats(s, -1, &st);
	CU_ASSERT_EQUAL(st.transient_freed, 100);
	CU_ASSERT_EQUAL(st.curr_items, 200);
	/* a touch moves an item out of its second */
	CU_ASSERT_EQUAL(store_touch(t, "key:150", 7, T0 + 6, 100), STORE_OK);
	store_maintain(s, 0, T0 + 40, 1000);
	store_stats(s, -1, &st);
	CU_ASSERT_EQUAL(st.transient_freed, 199);
	CU_ASSERT_EQUAL(st.curr_items, 101);
	CU_ASSERT_EQUAL(get_key(150, T0 + 40), STORE_OK);
	CU_ASSERT_EQUAL(get_key(250, T0 + 40), STORE_OK);
	store_teardown(s, false);
}

static void test_rebalance(void)
{
	struct store_config cfg = {.limit_bytes = 16 << 20};
	struct store_stats st;
	uint64_t k = 0;
	uint32_t now = T0;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	/* phase 1: fill everything with 2 KB values, then let them age */
	for (; k < 20000; k++)
		set_key(k, 2000, 0, now);
	now += 1000;
	/* phase 2: a new, hot working set of 100-byte values */
	uint64_t first_small = k;

	for (int round = 0; round < 50; round++, now++) {
		for (int i = 0; i < 5000; i++, k++)
			set_key(k, 100, 0, now);
		store_maintain(s, 0, now, 256);
	}
	store_stats(s, -1, &st);
	CU_ASSERT(st.slabs_moved > 0);
	/* the small class got most of the memory: far more small items kept than one page holds */
	uint64_t small_hits = 0;

	for (uint64_t i = first_small; i < k; i++)
		small_hits += get_key(i, now) == STORE_OK;
	CU_ASSERT(small_hits > 50000);
	check_limits();
	store_teardown(s, false);
}

static const char *mem_file(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/dev/shm/dpcache-test-store-%d", (int)getpid());
	return path;
}

static void test_hot_restart(void)
{
	struct store_config cfg = {.limit_bytes = 64 << 20,
				   .partitions = 2,
				   .threads = 1,
				   .memory_file = mem_file(),
				   .log = log_line};
	static uint64_t cas[60000];
	static uint32_t exptime[60000], vlen[60000];
	static bool live[60000];
	uint64_t n = 60000, live_count = 0, ok = 0;

	unlink(cfg.memory_file);
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT(!store_reattached(s));
	t = store_thread(s, 0);
	for (uint64_t k = 0; k < n; k++)
		set_key(k, mixed_size() % 3000, k % 3 == 0 ? 1000 : 0, T0);
	for (uint64_t k = 0; k < n; k++) {
		live[k] = get_key(k, T0) == STORE_OK;
		cas[k] = info.cas;
		exptime[k] = info.exptime;
		vlen[k] = info.value_len;
		live_count += live[k];
	}
	CU_ASSERT(live_count > 1000);
	store_teardown(s, true);

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT(store_reattached(s));
	/* a second store on the same file is refused while the first has it */
	struct store *other = NULL;

	CU_ASSERT_EQUAL(store_setup(&cfg, &other), -EBUSY);
	CU_ASSERT(strstr(logged, "in use") != NULL);
	t = store_thread(s, 0);
	for (uint64_t k = 0; k < n; k++) {
		enum store_result r = get_key(k, T0 + 1);

		if (!live[k]) {
			CU_ASSERT(r == STORE_NOT_FOUND);
			continue;
		}
		ok += r == STORE_OK && info.cas == cas[k] && info.exptime == exptime[k] &&
		      info.value_len == vlen[k] && info.flags == (uint32_t)k &&
		      value_ok(vbuf, info.value_len, k);
	}
	CU_ASSERT_EQUAL(ok, live_count);
	/* the store keeps working: new CAS values do not collide with old ones */
	uint64_t newcas;
	struct store_set_args a = {.op = STORE_OP_SET};

	CU_ASSERT(store_set(t, "fresh", 5, "v", 1, T0 + 1, &a, &newcas) == STORE_STORED);
	for (uint64_t k = 0; k < n; k++)
		if (live[k])
			CU_ASSERT(cas[k] != newcas);
	/* a crash (no clean teardown) leaves a file that is discarded */
	store_teardown(s, false);
	logged[0] = 0;
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT(!store_reattached(s));
	CU_ASSERT(strstr(logged, "discarded") != NULL);
	t = store_thread(s, 0);
	CU_ASSERT_EQUAL(get_key(n - 1, T0 + 1), STORE_NOT_FOUND);
	store_teardown(s, true);
	/* another layout is discarded too */
	cfg.growth_factor = 1.5;
	logged[0] = 0;
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT(!store_reattached(s));
	CU_ASSERT(strstr(logged, "layout") != NULL);
	store_teardown(s, true);
	/* and a corrupted header */
	cfg.growth_factor = 1.25;
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	store_teardown(s, true);
	FILE *f = fopen(cfg.memory_file, "r+");

	CU_ASSERT_FATAL(f != NULL);
	fseek(f, 40, SEEK_SET);
	fputc(0x5a, f);
	fclose(f);
	logged[0] = 0;
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT(!store_reattached(s));
	CU_ASSERT(strstr(logged, "discarded") != NULL);
	store_teardown(s, false);
	unlink(cfg.memory_file);
}

/* Hugepages free on hugetlbfs at /dev/hugepages, or 0. */
static long free_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return access("/dev/hugepages", W_OK) == 0 ? n : 0;
}

static void test_hot_restart_hugetlbfs(void)
{
	char path[64];
	struct store_config cfg = {.limit_bytes = 8 << 20, .memory_file = path, .log = log_line};
	uint64_t n = 20000, ok = 0, live = 0;

	if (free_hugepages() < 16) {
		printf("# hot_restart_hugetlbfs: no free hugepages on /dev/hugepages, skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "/dev/hugepages/dpcache-test-store-%d", (int)getpid());
	unlink(path);
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	for (uint64_t k = 0; k < n; k++)
		set_key(k, 10 + k % 200, 0, T0);
	store_teardown(s, true);
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT(store_reattached(s));
	t = store_thread(s, 0);
	for (uint64_t k = 0; k < n; k++) {
		if (get_key(k, T0) != STORE_OK)
			continue;
		live++;
		ok += info.value_len == 10 + k % 200 && value_ok(vbuf, info.value_len, k);
	}
	CU_ASSERT(live > 1000);
	CU_ASSERT_EQUAL(ok, live);
	store_teardown(s, false);
	unlink(path);
}

/* Partitions bound to NUMA node 0 (the store only asks; a kernel without NUMA ignores it). */
static void test_numa_bind(void)
{
	struct store_config cfg = {.limit_bytes = 16 << 20,
				   .partitions = 2,
				   .threads = 1,
				   .numa_bind = true,
				   .numa_node = {0, 0}};
	uint64_t ok = 0;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	t = store_thread(s, 0);
	for (uint64_t k = 0; k < 1000; k++)
		CU_ASSERT(set_key(k, 100, 0, T0) == STORE_STORED);
	for (uint64_t k = 0; k < 1000; k++)
		ok += get_key(k, T0) == STORE_OK && value_ok(vbuf, info.value_len, k);
	CU_ASSERT_EQUAL(ok, 1000);
	store_teardown(s, false);
}

/*
 * store_hash (XXH3 compiled inline into the store) is libxxhash's
 * XXH3_64bits: an arena one build wrote is read by another (hot restart).
 */
static void test_hash_is_xxh3(void)
{
	char buf[300];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(buf); len++)
		CU_ASSERT_EQUAL_FATAL(store_hash(buf, len), XXH3_64bits(buf, len));
}

static struct cunit_test tests[] = {
    {"hash_is_xxh3", test_hash_is_xxh3},
    {"limit_under_10x_overfill", test_limit_under_overfill},
    {"lru_keeps_read_items", test_lru_keeps_read_items},
    {"replace_evicts_old", test_replace_evicts_old},
    {"expiry_reclaim", test_expiry_reclaim},
    {"transient_cache", test_transient_cache},
    {"rebalance", test_rebalance},
    {"hot_restart", test_hot_restart},
    {"hot_restart_hugetlbfs", test_hot_restart_hugetlbfs},
    {"numa_bind", test_numa_bind},
    {NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("store_mem", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
