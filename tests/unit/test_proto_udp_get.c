/*
 * proto_udp_get_scan, the UDP read path's line scanner: what it accepts and
 * declines, and that whatever it accepts the general parser reads as the
 * same command and the same keys (hand-picked lines and random ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_tap.h"
#include "dpcache/proto.h"
#include "dpcache/proto_udp.h"

#define KEYS_MAX PROTO_UDP_GET_KEYS_MAX

static struct proto_span keys[KEYS_MAX];

static unsigned scan(const char *s, size_t len, bool *cas)
{
	return proto_udp_get_scan(s, len, cas, keys, KEYS_MAX);
}

static unsigned scan_str(const char *s, bool *cas)
{
	return scan(s, strlen(s), cas);
}

/*
 * The general parser on the same bytes (as the UDP service runs it): one
 * get/gets request whose keys, walked with proto_key_next, are the scanner's.
 */
static void expect_parser_agrees(const char *s, size_t len, unsigned n, bool cas)
{
	struct proto_config cfg = {.udp = true};
	struct proto_parser p;
	struct proto_request req;
	struct proto_span k;
	uint32_t pos = 0;
	size_t used = 0;
	unsigned i = 0;

	proto_parser_init(&p, &cfg, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(proto_parse(&p, s, len, &used, &req), PROTO_EV_REQUEST);
	CU_ASSERT_EQUAL(used, len);
	CU_ASSERT_EQUAL(req.cmd, cas ? PROTO_CMD_GETS : PROTO_CMD_GET);
	while (proto_key_next(&req, &pos, &k)) {
		CU_ASSERT_FATAL(i < n);
		CU_ASSERT_EQUAL(k.len, keys[i].len);
		CU_ASSERT(k.len == keys[i].len && memcmp(k.p, keys[i].p, k.len) == 0);
		i++;
	}
	CU_ASSERT_EQUAL(i, n);
}

static void expect_keys(const char *s, bool want_cas, unsigned want_n, const char *const *want)
{
	bool cas = !want_cas;
	unsigned n = scan_str(s, &cas);

	CU_ASSERT_EQUAL(n, want_n);
	if (n != want_n) {
		printf("# scan \"%s\": %u keys, wanted %u\n", s, n, want_n);
		return;
	}
	CU_ASSERT_EQUAL(cas, want_cas);
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT(keys[i].len == strlen(want[i]) && memcmp(keys[i].p, want[i], keys[i].len) == 0);
	expect_parser_agrees(s, strlen(s), n, cas);
}

static void test_accepts(void)
{
	expect_keys("get k\r\n", false, 1, (const char *[]){"k"});
	expect_keys("get k\n", false, 1, (const char *[]){"k"});
	expect_keys("gets k\r\n", true, 1, (const char *[]){"k"});
	expect_keys("get a bb ccc\r\n", false, 3, (const char *[]){"a", "bb", "ccc"});
	expect_keys("get  a   b \r\n", false, 2, (const char *[]){"a", "b"});
	expect_keys("get a a\r\n", false, 2, (const char *[]){"a", "a"});
	/* tabs and other bytes are part of a key, as in memcached */
	expect_keys("get a\tb \x01\xff\r\n", false, 2, (const char *[]){"a\tb", "\x01\xff"});
	/* "noreply" means nothing to get: it is a key like any other */
	expect_keys("get k noreply\r\n", false, 2, (const char *[]){"k", "noreply"});
	expect_keys("get kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\r\n", false, 1,
		    (const char *[]){"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"});
}

static void test_key_lengths(void)
{
	char line[600], key[300];
	bool cas;

	memset(key, 'x', sizeof(key));
	for (unsigned len = 1; len <= 251; len++) {
		int n = snprintf(line, sizeof(line), "get %.*s\r\n", (int)len, key);

		CU_ASSERT_EQUAL(scan(line, (size_t)n, &cas), len <= PROTO_KEY_MAX ? 1u : 0u);
		if (len <= PROTO_KEY_MAX) {
			CU_ASSERT_EQUAL(keys[0].len, len);
			expect_parser_agrees(line, (size_t)n, 1, false);
		}
	}
	/* a good key does not save a line with one too long */
	snprintf(line, sizeof(line), "get a %.251s b\r\n", key);
	CU_ASSERT_EQUAL(scan_str(line, &cas), 0);
}

static void test_declines(void)
{
	static const char *const lines[] = {
	    "get \r\n",	     /* no key: ERROR */
	    "get\r\n",	     /* no key */
	    "gets \r\n",     /* no key */
	    "get k",	     /* no end of line */
	    "get k\r",	     /* no end of line */
	    "get k\r\r\n",   /* '\r' in the key (memcached keeps it) */
	    "get a\rb\r\n",  /* '\r' in the key */
	    "get k\r\nget j\r\n", /* two requests */
	    "get k\n\n",	     /* two lines */
	    " get k\r\n",	     /* leading space */
	    "GET k\r\n",	     /* not a command */
	    "gat 0 k\r\n",	     /* another command */
	    "gats 0 k\r\n",
	    "getk k\r\n",
	    "mg k v\r\n",
	    "bget k\r\n",
	    "set k 0 0 1\r\nx\r\n",
	    "",
	    "\r\n",
	};
	bool cas;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		unsigned n = scan_str(lines[i], &cas);

		CU_ASSERT_EQUAL(n, 0);
		if (n != 0)
			printf("# accepted \"%s\"\n", lines[i]);
	}
	/* a NUL ends the line for memcached: declined */
	CU_ASSERT_EQUAL(scan("get a\0b\r\n", 9, &cas), 0);
	CU_ASSERT_EQUAL(scan("get a\r\n\0", 8, &cas), 0);
}

static void test_too_many_keys(void)
{
	char line[1024];
	size_t n = 0;
	bool cas;

	n += (size_t)snprintf(line + n, sizeof(line) - n, "get");
	for (unsigned i = 0; i < KEYS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " k%u", i);
	memcpy(line + n, "\r\n", 3);
	CU_ASSERT_EQUAL(scan(line, n + 2, &cas), KEYS_MAX);
	expect_parser_agrees(line, n + 2, KEYS_MAX, false);
	/* one more: the general parser takes it */
	n += (size_t)snprintf(line + n, sizeof(line) - n, " more\r\n");
	CU_ASSERT_EQUAL(scan(line, n, &cas), 0);
}

/* Random lines from a small alphabet: whatever is accepted, the parser reads alike. */
static void test_random_lines(void)
{
	static const char alphabet[] = {'a', 'b', ' ', ' ', ' ', '\r', '\n', '\0', '\t', 'k'};
	static const char *const prefixes[] = {"get ", "gets ", "get", "ge", ""};
	unsigned accepted = 0;
	char line[64];

	srand(5);
	for (unsigned iter = 0; iter < 200000; iter++) {
		const char *pre = prefixes[rand() % 5];
		size_t n = strlen(pre), body = (size_t)(rand() % 12);
		unsigned nk;
		bool cas;

		memcpy(line, pre, n);
		for (size_t i = 0; i < body; i++)
			line[n++] = alphabet[rand() % sizeof(alphabet)];
		if (rand() % 2)
			line[n++] = '\r';
		line[n++] = '\n';
		nk = scan(line, n, &cas);
		if (nk > 0) {
			accepted++;
			expect_parser_agrees(line, n, nk, cas);
		}
	}
	CU_ASSERT(accepted > 1000);
}

static const struct cunit_test tests[] = {
	{"plain get/gets lines accepted", test_accepts},
	{"key lengths up to 250", test_key_lengths},
	{"everything else declined", test_declines},
	{"at most PROTO_UDP_GET_KEYS_MAX keys", test_too_many_keys},
	{"random lines: the general parser agrees", test_random_lines},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("proto_udp_get", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
