/*
 * The client's partition function (include/dpcache/partition.h) against the
 * store's own: for 1..8 partitions and 20,000 keys each, the same answer.
 */
#include <stdio.h>
#include <string.h>

#include "cunit_tap.h"
#include "dpcache/partition.h"
#include "store.h"

static void test_matches_store(void)
{
	for (unsigned parts = 1; parts <= 8; parts++) {
		struct store_config cfg = {.limit_bytes = 8u << 20, .partitions = parts};
		struct store *s = NULL;
		unsigned differ = 0, count[8] = {0};

		CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
		for (unsigned i = 0; i < 20000; i++) {
			char key[32];
			int n = snprintf(key, sizeof(key), "key:%u:%u", parts, i * 7919u);
			unsigned p = dpcache_key_partition(key, (size_t)n, parts);

			differ += p != store_partition_of(s, key, (size_t)n);
			count[p]++;
		}
		CU_ASSERT_EQUAL(differ, 0);
		/* and the keys spread: every partition gets at least half its share */
		for (unsigned p = 0; p < parts; p++)
			CU_ASSERT(count[p] >= 20000 / parts / 2);
		store_teardown(s, false);
	}
}

static void test_udp_port(void)
{
	const char *key = "user:42";
	unsigned p = dpcache_key_partition(key, strlen(key), 4);

	CU_ASSERT_EQUAL(dpcache_key_udp_port(key, strlen(key), 12000, 4), 12000 + p);
	CU_ASSERT_EQUAL(dpcache_key_udp_port(key, strlen(key), 12000, 1), 12000);
}

static const struct cunit_test tests[] = {
    {"client partition function equals the store's (1..8 partitions)", test_matches_store},
    {"a key's UDP port is base + its partition", test_udp_port},
    {NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("partition", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
