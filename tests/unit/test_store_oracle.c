/*
 * Differential test against the oracle: the same random sequence of storage,
 * arithmetic, delete, touch and get commands on a few keys goes to the store
 * and to a stock memcached started here; every reply must agree (result,
 * value bytes, flags). CAS values differ between the two, so each side's
 * CAS is tracked from its own `gets` and a cas command uses either that
 * (good) or a stale one (bad) on both sides.
 *
 * Skipped (and said so) when memcached is not installed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cunit_tap.h"
#include "store.h"

#define NKEYS 12
#define NOPS  20000

static int mc_fd = -1;
static pid_t mc_pid;
static char rbuf[1 << 16];
static size_t rlen;

static int start_memcached(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char port[16];
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (access("/usr/bin/memcached", X_OK) != 0)
		return -1;
	/* a free port: bind to 0, read it back, close */
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(s, (struct sockaddr *)&sa, &sl);
	close(s);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	mc_pid = fork();
	if (mc_pid == 0) {
		execl("/usr/bin/memcached", "memcached", "-p", port, "-U", "0", "-l", "127.0.0.1",
		      "-u", "root", "-m", "64", "-t", "1", "-o", "no_lru_maintainer,no_lru_crawler",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		mc_fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(mc_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		close(mc_fd);
		mc_fd = -1;
		usleep(50000);
	}
	return -1;
}

static void stop_memcached(void)
{
	if (mc_fd >= 0)
		close(mc_fd);
	if (mc_pid > 0) {
		kill(mc_pid, SIGTERM);
		waitpid(mc_pid, NULL, 0);
	}
}

static void mc_send(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(mc_fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Read until the buffer ends with `end` (a reply terminator). */
static void mc_read_until(const char *const *ends)
{
	rlen = 0;
	for (;;) {
		ssize_t r = read(mc_fd, rbuf + rlen, sizeof(rbuf) - 1 - rlen);

		if (r <= 0)
			return;
		rlen += (size_t)r;
		rbuf[rlen] = 0;
		for (const char *const *e = ends; *e; e++) {
			size_t el = strlen(*e);

			if (rlen >= el && memcmp(rbuf + rlen - el, *e, el) == 0)
				return;
		}
	}
}

static const char *const line_end[] = {"\r\n", NULL};
static const char *const mn_end[] = {"END\r\nMN\r\n", NULL};

static uint64_t xs(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/* A store result as memcached's text reply line. */
static const char *text_of(enum store_result r, bool del)
{
	switch (r) {
	case STORE_STORED:
		return "STORED";
	case STORE_NOT_STORED:
		return "NOT_STORED";
	case STORE_EXISTS:
		return "EXISTS";
	case STORE_NOT_FOUND:
		return "NOT_FOUND";
	case STORE_OK:
		return del ? "DELETED" : "TOUCHED";
	case STORE_NON_NUMERIC:
		return "CLIENT_ERROR cannot increment or decrement non-numeric value";
	default:
		return store_result_name(r);
	}
}

/*
 * After an incr/decr that shortened a number, memcached pads it with spaces
 * in place (as the store always does), but makes a new unpadded item when
 * another of its threads holds a reference at that moment (its LRU
 * maintainer after an asynchronous bump): timing, not semantics. The
 * memcached started here runs without LRU maintainer and crawler, so that
 * should not happen; if it does, give the store memcached's bytes and count
 * it (the test then fails: the count must stay 0).
 */
static int resync_arith(struct store_thread *t, const char *key, size_t kl, uint32_t now)
{
	struct store_sink sink;
	struct store_buf b;
	struct store_item_info info;
	char vb[64], cmd[64];

	store_sink_buf(&sink, &b, vb, sizeof(vb));
	if (store_get(t, key, kl, now, &sink, &info) != STORE_OK)
		return 0;
	mc_send(cmd, (size_t)snprintf(cmd, sizeof(cmd), "get %s\r\nmn\r\n", key));
	mc_read_until(mn_end);
	char *nl = strchr(rbuf, '\n');
	char *end = nl ? strstr(nl + 1, "\r\nEND") : NULL;

	if (!nl || !end)
		return 0;
	uint32_t ml = (uint32_t)(end - (nl + 1));

	if (ml == b.len || ml > b.len || memcmp(nl + 1, vb, ml) != 0)
		return 0;
	for (uint32_t i = ml; i < b.len; i++)
		if (vb[i] != ' ')
			return 0;
	struct store_set_args a = {
	    .op = STORE_OP_SET, .flags = info.flags, .exptime = info.exptime};

	store_set(t, key, kl, nl + 1, ml, now, &a, NULL);
	return 1;
}

static void test_oracle(void)
{
	int tolerated = 0;
	struct store_config cfg = {.limit_bytes = 64 << 20};
	uint64_t cas_store[NKEYS] = {0}, cas_mc[NKEYS] = {0};
	uint64_t r = 12345, mismatches = 0;
	uint32_t now = (uint32_t)time(NULL);
	struct store *s;
	char cmd[512], want[1024], val[64];

	if (start_memcached() != 0) {
		printf("# oracle: memcached not available, skipped\n");
		stop_memcached();
		return;
	}
	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	struct store_thread *t = store_thread(s, 0);

	for (int i = 0; i < NOPS; i++) {
		unsigned k = (unsigned)(xs(&r) % NKEYS), op = (unsigned)(xs(&r) % 11);
		char key[16];
		int kl = snprintf(key, sizeof(key), "key%u", k);
		uint32_t vl = (uint32_t)(xs(&r) % 8), flags = (uint32_t)(xs(&r) % 4);
		const char *got = NULL;
		enum store_result sr;

		/* values mostly numbers, sometimes with letters or spaces */
		for (uint32_t j = 0; j < vl; j++) {
			uint64_t c = xs(&r) % 20;

			val[j] = c < 16 ? (char)('0' + c % 10) : c < 18 ? 'a' : ' ';
		}
		/*
		 * No value may start with a space: memcached's strtoull would skip
		 * the trailing "\r\n" too and parse whatever stale bytes follow in
		 * its chunk (undefined, not a behaviour to copy).
		 */
		if (vl && val[0] == ' ')
			val[0] = '7';
		if (op <= 4 || op == 5) {
			static const enum store_op ops[] = {STORE_OP_SET,     STORE_OP_ADD,
							    STORE_OP_REPLACE, STORE_OP_APPEND,
							    STORE_OP_PREPEND, STORE_OP_CAS};
			static const char *const names[] = {"set",    "add",	 "replace",
							    "append", "prepend", "cas"};
			bool good = xs(&r) % 3 != 0;
			struct store_set_args a = {.op = ops[op], .flags = flags};
			int n;

			if (op == 5)
				a.cas = good ? cas_store[k] : cas_store[k] + 1000000;
			sr = store_set(t, key, (size_t)kl, val, vl, now, &a, NULL);
			if (op == 5)
				n = snprintf(
				    cmd, sizeof(cmd), "cas %s %u 0 %u %llu\r\n", key, flags, vl,
				    (unsigned long long)(good ? cas_mc[k] : cas_mc[k] + 1000000));
			else
				n = snprintf(cmd, sizeof(cmd), "%s %s %u 0 %u\r\n", names[op], key,
					     flags, vl);
			memcpy(cmd + n, val, vl);
			memcpy(cmd + n + vl, "\r\n", 2);
			mc_send(cmd, (size_t)n + vl + 2);
			mc_read_until(line_end);
			snprintf(want, sizeof(want), "%s\r\n", text_of(sr, false));
			got = rbuf;
		} else if (op == 6) {
			sr = store_delete(t, key, (size_t)kl, now, NULL);
			mc_send(cmd, (size_t)snprintf(cmd, sizeof(cmd), "delete %s\r\n", key));
			mc_read_until(line_end);
			snprintf(want, sizeof(want), "%s\r\n", text_of(sr, true));
			got = rbuf;
		} else if (op == 7 || op == 8) {
			/* deltas small, or large enough to wrap */
			uint64_t d = xs(&r) % 4 ? xs(&r) % 100 : UINT64_MAX - xs(&r) % 100;
			struct store_arith_args a = {.incr = op == 7, .delta = d};
			uint64_t v;

			sr = store_arith(t, key, (size_t)kl, now, &a, &v, NULL);
			mc_send(cmd, (size_t)snprintf(cmd, sizeof(cmd), "%s %s %llu\r\n",
						      op == 7 ? "incr" : "decr", key,
						      (unsigned long long)d));
			mc_read_until(line_end);
			if (sr == STORE_OK)
				snprintf(want, sizeof(want), "%llu\r\n", (unsigned long long)v);
			else
				snprintf(want, sizeof(want), "%s\r\n", text_of(sr, false));
			static char reply[1024];

			size_t rn = rlen < sizeof(reply) - 1 ? rlen : sizeof(reply) - 1;

			memcpy(reply, rbuf, rn);
			reply[rn] = 0;
			got = reply;
			if (sr == STORE_OK && strcmp(got, want) == 0)
				tolerated += resync_arith(t, key, (size_t)kl, now);
		} else if (op == 9) {
			sr = store_touch(t, key, (size_t)kl, now, 1000);
			mc_send(cmd, (size_t)snprintf(cmd, sizeof(cmd), "touch %s 1000\r\n", key));
			mc_read_until(line_end);
			snprintf(want, sizeof(want), "%s\r\n", text_of(sr, false));
			got = rbuf;
		} else {
			struct store_sink sink;
			struct store_buf b;
			struct store_item_info info;
			char vb[4096];
			int n;

			store_sink_buf(&sink, &b, vb, sizeof(vb));
			sr = store_get(t, key, (size_t)kl, now, &sink, &info);
			/*
			 * memcached's connection keeps its reference to the item it
			 * last sent until it reads the next command; an incr then
			 * sees the item shared and makes a new, unpadded one. An
			 * `mn` after each gets drops that reference first.
			 */
			mc_send(cmd, (size_t)snprintf(cmd, sizeof(cmd), "gets %s\r\nmn\r\n", key));
			mc_read_until(mn_end);
			if (sr == STORE_OK) {
				unsigned long long mcas = 0;
				char *sp = strrchr(strtok(rbuf, "\n"), ' ');

				n = snprintf(want, sizeof(want), "VALUE %s %u %u ", key, info.flags,
					     b.len);
				cas_store[k] = info.cas;
				if (sp && strncmp(rbuf, want, (size_t)n) == 0) {
					mcas = strtoull(sp + 1, NULL, 10);
					cas_mc[k] = mcas;
					/* compare the value bytes after the header line */
					char *data = rbuf + strlen(rbuf) + 1;

					if ((size_t)(data - rbuf) + b.len + 2 > rlen ||
					    memcmp(data, vb, b.len) != 0)
						mismatches++;
					continue;
				}
				mismatches++;
				printf(
				    "# op %d: store has %s = '%.*s' flags %u, memcached said %s\n",
				    i, key, (int)b.len, vb, info.flags, rbuf);
				continue;
			}
			snprintf(want, sizeof(want), "END\r\nMN\r\n");
			got = rbuf;
		}
		if (strcmp(got, want) != 0) {
			struct store_sink sink;
			struct store_buf b;
			char vb[256];

			store_sink_buf(&sink, &b, vb, sizeof(vb));
			if (store_get(t, key, (size_t)kl, now, &sink, NULL) == STORE_OK &&
			    mismatches < 10)
				printf("# %s now '%.*s'\n", key, (int)b.len, vb);
			mismatches++;
			if (mismatches < 10)
				printf("# op %d (%u on %s): store '%.*s', memcached '%.*s'\n", i,
				       op, key, (int)strcspn(want, "\r"), want,
				       (int)strcspn(got, "\r"), got);
		}
	}
	printf("# oracle: %d commands, %llu mismatches, %d unpadded incr/decr results taken "
	       "from memcached\n",
	       NOPS, (unsigned long long)mismatches, tolerated);
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_EQUAL(tolerated, 0);
	store_teardown(s, false);
	stop_memcached();
}

static struct cunit_test tests[] = {
    {"same_replies_as_memcached", test_oracle},
    {NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("store_oracle", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
