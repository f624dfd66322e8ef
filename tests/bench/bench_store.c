/*
 * The store alone, one thread: get and set throughput, and memory efficiency
 * against stock memcached (same memory limit, growth factor and minimum
 * chunk) filled with the same keys and value-size mix until each evicts.
 *
 *   bench_store [--memcached PORT] [--limit-mb N] [--keys N] [--seconds S]
 *
 * The last lines are `store_get_mops N` and `items_ratio_vs_memcached R`
 * (the latter only with --memcached).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define NOW 1700000000u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xs(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/*
 * Value sizes: many small values and a long tail, shaped like the paper's
 * general-purpose pool (most values under a few hundred bytes, a few up to
 * hundreds of KB).
 */
static uint32_t value_size(uint64_t *r)
{
	uint64_t p = xs(r) % 10000;

	if (p < 4000)
		return 1 + xs(r) % 64;
	if (p < 7500)
		return 64 + xs(r) % 256;
	if (p < 9300)
		return 320 + xs(r) % 1700;
	if (p < 9900)
		return 2000 + xs(r) % 18000;
	return 20000 + xs(r) % 180000;
}

static int key_of(char *k, uint64_t i)
{
	return sprintf(k, "user:%010llu", (unsigned long long)i);
}

/* ---- throughput ---- */

struct sink_ctx {
	char *buf;
};

static int copy_out(void *ctx, uint32_t off, const void *src, uint32_t len)
{
	memcpy(((struct sink_ctx *)ctx)->buf + off, src, len);
	return 0;
}

static double bench_ops(uint64_t nkeys, double seconds, double *set_mops)
{
	/* Room for every key; an index of ~4 keys per 7-slot bucket. */
	struct store_config cfg = {.limit_bytes = 1024ull << 20,
				   .partitions = 1,
				   .buckets = 1u << (64 - __builtin_clzll(nkeys / 4))};
	struct store_set_args a = {.op = STORE_OP_SET};
	static char val[64], buf[1 << 20];
	struct sink_ctx sc = {buf};
	struct store_sink sink = {NULL, copy_out, &sc};
	struct store_item_info info;
	struct store *s;
	char(*keys)[24] = malloc(nkeys * 24);
	uint8_t *klen = malloc(nkeys);
	uint64_t r = 42, ops, hits = 0;
	double t0, t;

	if (store_setup(&cfg, &s)) {
		fprintf(stderr, "bench: store_setup failed\n");
		exit(1);
	}
	struct store_thread *th = store_thread(s, 0);

	memset(val, 'v', sizeof(val));
	for (uint64_t i = 0; i < nkeys; i++)
		klen[i] = (uint8_t)key_of(keys[i], i);
	for (uint64_t i = 0; i < nkeys; i++)
		store_set(th, keys[i], klen[i], val, 32, NOW, &a, NULL);
	/* sets over existing keys (replace: alloc, link, free the old) */
	t0 = now_s();
	ops = 0;
	do {
		for (int k = 0; k < 10000; k++) {
			uint64_t i = xs(&r) % nkeys;

			store_set(th, keys[i], klen[i], val, 32, NOW, &a, NULL);
		}
		ops += 10000;
	} while ((t = now_s()) - t0 < seconds);
	*set_mops = ops / (t - t0) / 1e6;
	/* gets with the value copied out */
	t0 = now_s();
	ops = 0;
	do {
		for (int k = 0; k < 10000; k++) {
			uint64_t i = xs(&r) % nkeys;

			hits += store_get(th, keys[i], klen[i], NOW, &sink, &info) == STORE_OK;
		}
		ops += 10000;
	} while ((t = now_s()) - t0 < seconds);
	double get_plain = ops / (t - t0) / 1e6;

	/* gets in bursts of 16, as a worker sees them: prefetch buckets, items, then get */
	t0 = now_s();
	ops = 0;
	hits = 0;
	do {
		for (int k = 0; k < 10000; k += 16) {
			uint64_t idx[16], h[16];

			for (int j = 0; j < 16; j++) {
				idx[j] = xs(&r) % nkeys;
				h[j] = store_hash(keys[idx[j]], klen[idx[j]]);
				store_prefetch(th, h[j], false);
			}
			for (int j = 0; j < 16; j++)
				store_prefetch(th, h[j], true);
			for (int j = 0; j < 16; j++)
				hits += store_get(th, keys[idx[j]], klen[idx[j]], NOW, &sink,
						  &info) == STORE_OK;
		}
		ops += 10000 / 16 * 16;
	} while ((t = now_s()) - t0 < seconds);
	printf("store_get_mops_unbatched %.2f\n", get_plain);
	if (hits != ops)
		fprintf(stderr, "bench: %llu of %llu gets missed\n",
			(unsigned long long)(ops - hits), (unsigned long long)ops);
	store_teardown(s, false);
	free(keys);
	free(klen);
	return ops / (t - t0) / 1e6;
}

/* ---- memory efficiency ---- */

/*
 * Items held by the store after `sets` sets of the mix; *first gets the
 * items held when the first eviction happened.
 */
static uint64_t store_fill(uint64_t limit_mb, uint64_t sets, uint64_t *first)
{
	struct store_config cfg = {.limit_bytes = limit_mb << 20, .partitions = 1};
	struct store_set_args a = {.op = STORE_OP_SET};
	static char val[1 << 20];
	struct store_stats st;
	struct store *s;
	uint64_t r = 7, nomem = 0;
	char k[32];

	memset(val, 'x', sizeof(val));
	if (store_setup(&cfg, &s))
		exit(1);
	struct store_thread *th = store_thread(s, 0);

	*first = 0;
	for (uint64_t i = 0; i < sets; i++) {
		int kl = key_of(k, i);

		nomem += store_set(th, k, (size_t)kl, val, value_size(&r), NOW, &a, NULL) ==
			 STORE_NO_MEMORY;
		if (!*first && (i & 63) == 0) {
			store_stats(s, -1, &st);
			if (st.evictions)
				*first = st.curr_items;
		}
	}
	store_stats(s, -1, &st);
	printf("store_evictions %llu, out_of_memory %llu, pages_moved %llu\n",
	       (unsigned long long)st.evictions, (unsigned long long)nomem,
	       (unsigned long long)st.slabs_moved);
	printf("store_total_malloced_mb %.1f (limit %llu)\n", st.total_malloced / 1048576.0,
	       (unsigned long long)limit_mb);
	store_teardown(s, false);
	return st.curr_items;
}

static int mc_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "bench: memcached on port %d: %s\n", port, strerror(errno));
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0) {
			perror("bench: write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* `cmd` (stats, stats slabs) → the value of one counter. */
static uint64_t mc_stat_cmd(int fd, const char *cmd, const char *name)
{
	static char buf[1 << 16];
	size_t n = 0;
	char pat[64];

	write_all(fd, cmd, strlen(cmd));
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r <= 0)
			exit(1);
		n += (size_t)r;
		buf[n] = 0;
		if (strstr(buf, "END\r\n"))
			break;
	}
	/* "STAT name v", or the sum of "STAT items:N:name v" over all classes */
	uint64_t sum = 0;

	snprintf(pat, sizeof(pat), "STAT %s ", name);
	char *p = strstr(buf, pat);

	if (p)
		return strtoull(p + strlen(pat), NULL, 10);
	snprintf(pat, sizeof(pat), ":%s ", name);
	for (p = strstr(buf, pat); p; p = strstr(p + 1, pat))
		sum += strtoull(p + strlen(pat), NULL, 10);
	return sum;
}

static uint64_t mc_stat(int fd, const char *name)
{
	return mc_stat_cmd(fd, "stats\r\n", name);
}

static uint64_t memcached_fill(int port, uint64_t sets, uint64_t *first)
{
	static char out[4 << 20], val[1 << 20];
	uint64_t r = 7, i = 0;
	int fd = mc_connect(port);

	memset(val, 'x', sizeof(val));
	*first = 0;
	while (i < sets) {
		size_t n = 0;

		/* 64 sets per batch (noreply), then look at the evictions counter */
		for (int b = 0; b < 64 && i < sets; b++, i++) {
			char k[32];
			uint32_t vl = value_size(&r);

			key_of(k, i);
			n += (size_t)sprintf(out + n, "set %s 0 0 %u noreply\r\n", k, vl);
			memcpy(out + n, val, vl);
			n += vl;
			memcpy(out + n, "\r\n", 2);
			n += 2;
			if (n > sizeof(out) - (300 << 10)) {
				write_all(fd, out, n);
				n = 0;
			}
		}
		write_all(fd, out, n);
		if (!*first && mc_stat(fd, "evictions"))
			*first = mc_stat(fd, "curr_items");
	}
	uint64_t items = mc_stat(fd, "curr_items");

	printf("memcached_evictions %llu, out_of_memory %llu\n",
	       (unsigned long long)mc_stat(fd, "evictions"),
	       (unsigned long long)mc_stat_cmd(fd, "stats items\r\n", "outofmemory"));
	printf("memcached_total_malloced_mb %.1f\n",
	       mc_stat_cmd(fd, "stats slabs\r\n", "total_malloced") / 1048576.0);
	close(fd);
	return items;
}

int main(int argc, char **argv)
{
	uint64_t keys = 1000000, limit_mb = 64;
	double seconds = 2, set_mops, get_mops;
	int port = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--memcached"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--limit-mb"))
			limit_mb = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--keys"))
			keys = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
	}
	get_mops = bench_ops(keys, seconds, &set_mops);
	printf("store_set_mops %.2f\n", set_mops);
	if (port) {
		/* enough sets to write the memory limit ~4 times over */
		uint64_t sets = limit_mb * 4 * (1 << 20) / 1300, s_first, m_first;
		uint64_t s_items = store_fill(limit_mb, sets, &s_first);
		uint64_t m_items = memcached_fill(port, sets, &m_first);

		printf("store_items_at_first_eviction %llu\n", (unsigned long long)s_first);
		printf("memcached_items_at_first_eviction %llu\n", (unsigned long long)m_first);
		printf("store_items %llu (-m %llu, %llu sets)\n", (unsigned long long)s_items,
		       (unsigned long long)limit_mb, (unsigned long long)sets);
		printf("memcached_items %llu\n", (unsigned long long)m_items);
		printf("store_get_mops %.2f\n", get_mops);
		printf("items_ratio_vs_memcached %.3f\n", m_items ? (double)s_items / m_items : 0);
	} else {
		printf("store_get_mops %.2f\n", get_mops);
	}
	return 0;
}
