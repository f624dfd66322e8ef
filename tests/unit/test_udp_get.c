/*
 * The UDP service end to end on real mbufs, and its get shortcut checked
 * against the executor: every request goes through the service's pipeline
 * (udp_service_handle, then udp_service_drain: alone, or with others), and
 * the datagrams' payloads, put back together, must be the bytes the executor
 * answers for the same request (hits, misses, gets with CAS, multi-key,
 * expired items, values across datagram boundaries, replies too large), with
 * the same store counters. Lines the shortcut declines (bad or over-long
 * keys, other commands, several requests) must still be answered, by the
 * executor.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "cunit_tap.h"
#include "udp_service.h"

#define NOW	 1000000u
#define LATER	 (NOW + 100) /* "expired" has expired by then */
#define REF_CAP	 (4u << 20)
#define HUGE_LEN 1000000u

static struct rte_mempool *pool;
static struct store *store;
static struct udp_service svc;
static struct net_iface ifc;
static struct process_worker ref_w;
static struct process_conn ref_conn;
static char *ref_buf, *ref_flat, *got;
static struct iovec ref_iov[8192];
static char *value_buf;
#define BATCH_MAX 16
static char *ref_flat_saved[BATCH_MAX];

/* The reply datagrams the service handed over, in order. */
#define SENT_MAX (2 * UDP_REPLY_MAX_DGRAMS)
static struct rte_mbuf *sent[SENT_MAX];
static unsigned int nsent;

static void take_reply(struct udp_service *s, int n)
{
	for (int i = 0; i < n; i++) {
		CU_ASSERT_FATAL(nsent < SENT_MAX);
		sent[nsent++] = s->reply.dgrams[i];
	}
	s->reply.n = 0;
}

/* A request into `s`'s pipeline, as the worker passes it; replies into sent[]. */
static void pipe_in(struct udp_service *s, struct rte_mbuf *m, const struct udp_dgram *d,
		    uint32_t now)
{
	take_reply(s, udp_service_handle(s, &ifc, m, d, now, 0));
	CU_ASSERT(s->npending <= UDP_SERVICE_LAG);
}

/* The rest of the pipeline served, as the worker does after a burst. */
static void pipe_drain(struct udp_service *s, uint32_t now)
{
	int n;

	while ((n = udp_service_drain(s, &ifc, now, 0)) >= 0)
		take_reply(s, n);
	CU_ASSERT_EQUAL(s->npending, 0);
}

static const uint32_t value_lens[] = {0, 1, 100, 1341, 1342, 1343, 1400, 1401, 2800, 100000};

static int put(const char *key, uint32_t vlen, uint32_t flags, int64_t exptime)
{
	struct store_set_args a = {.op = STORE_OP_SET, .flags = flags, .exptime = exptime};
	enum store_result r;

	for (uint32_t i = 0; i < vlen; i++)
		value_buf[i] = (char)('a' + (i * 7 + strlen(key)) % 26);
	r = store_set(store_thread(store, 1), key, strlen(key), value_buf, vlen, NOW, &a, NULL);
	if (r != STORE_STORED)
		fprintf(stderr, "set %s: %s\n", key, store_result_name(r));
	return r == STORE_STORED ? 0 : -1;
}

static int setup(void)
{
	char prefix[32];
	char *argv[] = {"test_udp_get", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			"--no-telemetry", "-l", "0", "--log-level=error", "--file-prefix", prefix};
	struct store_config scfg = {.limit_bytes = 64u << 20, .item_size_max = 2u << 20,
				    .partitions = 1, .threads = 2};
	struct proto_config pcfg = {.item_size_max = 2u << 20, .udp = true};
	char key[300];

	snprintf(prefix, sizeof(prefix), "udpget%d", getpid());
	if (rte_eal_init(sizeof(argv) / sizeof(argv[0]), argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test", 8191, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL || store_setup(&scfg, &store) != 0)
		return -1;
	if (udp_service_setup(&svc, store, 0, &pcfg, pool, SOCKET_ID_ANY) != 0)
		return -1;
	/* the reference: the executor alone, as store thread 1 */
	if (process_worker_init(&ref_w, store, 1) != 0)
		return -1;
	process_conn_init(&ref_conn, &pcfg);
	ref_buf = malloc(REF_CAP);
	ref_flat = malloc(REF_CAP);
	got = malloc(REF_CAP);
	value_buf = malloc(2u << 20);
	if (ref_buf == NULL || ref_flat == NULL || got == NULL || value_buf == NULL)
		return -1;

	ifc.ip = inet_addr("198.18.0.2");
	ifc.netmask = htonl(0xffffff00);
	ifc.mac = (struct rte_ether_addr){{2, 0, 0, 0, 0, 2}};

	if (put("a", 5, 0, 0) || put("b", 100, 42, 0) || put("c", 1, 0, 0) ||
	    put("empty", 0, 0, 0) || put("flags", 3, UINT32_MAX, 0) || put("expired", 10, 0, 10) ||
	    put("huge", HUGE_LEN, 7, 0) || put("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 100, 0, 0))
		return -1;
	memset(key, 'x', sizeof(key));
	key[PROTO_KEY_MAX] = '\0';
	if (put(key, 10, 1, 0))
		return -1;
	for (size_t i = 0; i < sizeof(value_lens) / sizeof(value_lens[0]); i++) {
		snprintf(key, sizeof(key), "v%u", value_lens[i]);
		if (put(key, value_lens[i], (uint32_t)i, 0))
			return -1;
	}
	return 0;
}

static int teardown(void)
{
	char dir[PATH_MAX];
	int rc;

	udp_service_teardown(&svc);
	process_conn_close(&ref_w, &ref_conn);
	store_teardown(store, false);
	free(ref_buf);
	free(ref_flat);
	free(got);
	free(value_buf);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_mempool_free(pool);
	rc = rte_eal_cleanup();
	rmdir(dir);
	return rc;
}

/* The executor's reply to `req` at `now`, flattened; -1 if none would be sent. */
static long reference(const char *req, size_t len, uint32_t now)
{
	struct proto_out out;
	long n;

	proto_out_init(&out, ref_buf, REF_CAP, ref_iov, sizeof(ref_iov) / sizeof(ref_iov[0]));
	process_input(&ref_w, &ref_conn, req, len, now, &out);
	process_conn_close(&ref_w, &ref_conn);
	proto_parser_reset(&ref_conn.parser);
	if (out.error != 0 || out.total == 0 || out.total > UDP_SERVICE_OUT_MAX)
		return -1;
	n = proto_out_flatten(&out, ref_flat, REF_CAP);
	CU_ASSERT_FATAL(n >= 0);
	return n;
}

/* A request datagram in a fresh mbuf, as the port would hand it over. */
static struct rte_mbuf *request(const char *payload, size_t len, uint16_t req_id,
				struct udp_dgram *d)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	size_t total = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
		       sizeof(struct rte_udp_hdr) + PROTO_UDP_HDR_LEN + len;
	uint8_t *f;

	CU_ASSERT_FATAL(m != NULL);
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)total);
	CU_ASSERT_FATAL(f != NULL);
	memset(f, 0, total);
	d->eth = (struct rte_ether_hdr *)f;
	d->ip = (struct rte_ipv4_hdr *)(d->eth + 1);
	d->udp = (struct rte_udp_hdr *)(d->ip + 1);
	d->eth->src_addr = (struct rte_ether_addr){{2, 0, 0, 0, 0, 1}};
	d->eth->dst_addr = ifc.mac;
	d->ip->src_addr = inet_addr("198.18.0.1");
	d->ip->dst_addr = ifc.ip;
	d->udp->src_port = htons(40001);
	d->udp->dst_port = htons(11211);
	d->payload = (const uint8_t *)(d->udp + 1);
	d->len = (uint16_t)(PROTO_UDP_HDR_LEN + len);
	d->dst_port = 11211;
	f = (uint8_t *)(d->udp + 1);
	f[0] = (uint8_t)(req_id >> 8);
	f[1] = (uint8_t)req_id;
	f[5] = 1; /* one datagram */
	memcpy(f + PROTO_UDP_HDR_LEN, payload, len);
	return m;
}

static int udp_checksum_ok(const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp)
{
	uint32_t sum =
	    rte_ipv4_phdr_cksum(ip, 0) + (uint32_t)rte_raw_cksum(udp, ntohs(udp->dgram_len));

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* One request served alone by `s`: the number of its datagrams in sent[]. */
static int serve_one(struct udp_service *s, struct rte_mbuf *m, const struct udp_dgram *d,
		     uint32_t now)
{
	nsent = 0;
	pipe_in(s, m, d, now);
	pipe_drain(s, now);
	return (int)nsent;
}

/* The reply's n datagrams from sent[first], checked and put back together into `got`; freed. */
static long collect_at(unsigned int first, int n, uint16_t req_id)
{
	long total = 0;

	for (int i = 0; i < n; i++) {
		struct rte_mbuf *m = sent[first + (unsigned int)i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		const uint8_t *f = (const uint8_t *)(udp + 1);
		uint16_t plen = ntohs(udp->dgram_len) - sizeof(*udp) - PROTO_UDP_HDR_LEN;

		CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m),
				sizeof(*eth) + sizeof(*ip) + sizeof(*udp) + PROTO_UDP_HDR_LEN + plen);
		CU_ASSERT_EQUAL(ntohs(ip->total_length), rte_pktmbuf_pkt_len(m) - sizeof(*eth));
		CU_ASSERT_EQUAL(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
		CU_ASSERT(udp_checksum_ok(ip, udp));
		CU_ASSERT(rte_is_same_ether_addr(&eth->src_addr, &ifc.mac));
		CU_ASSERT_EQUAL(ntohs(udp->dst_port), 40001);
		CU_ASSERT_EQUAL((f[0] << 8 | f[1]), req_id);
		CU_ASSERT_EQUAL((f[2] << 8 | f[3]), i);
		CU_ASSERT_EQUAL((f[4] << 8 | f[5]), n);
		CU_ASSERT(i + 1 == n || plen == PROTO_UDP_PAYLOAD_MAX);
		memcpy(got + total, f + PROTO_UDP_HDR_LEN, plen);
		total += plen;
	}
	rte_pktmbuf_free_bulk(&sent[first], (unsigned)n);
	return total;
}

static long collect(int n, uint16_t req_id)
{
	return collect_at(0, n, req_id);
}

struct hits {
	uint64_t hits, misses, expired;
};

static struct hits hits_now(void)
{
	struct store_stats st;

	store_stats(store, -1, &st);
	return (struct hits){st.get_hits, st.get_misses, st.get_expired};
}

/*
 * Serve `req` at `now` through the service and through the executor alone:
 * the same bytes (or no reply from either), the same store counters, and
 * the shortcut taken exactly when `fast` says.
 */
static void check_n(const char *req, size_t len, bool fast, uint32_t now)
{
	static uint16_t req_id = 100;
	struct hits h0, h1, h2;
	uint64_t fast0 = svc.ctr.udp_fast_gets;
	struct udp_dgram d;
	struct rte_mbuf *m;
	long want, have = -1;
	int n;

	h0 = hits_now();
	want = reference(req, len, now);
	h1 = hits_now();
	m = request(req, len, ++req_id, &d);
	n = serve_one(&svc, m, &d, now);
	h2 = hits_now();
	if (n > 0)
		have = collect(n, req_id);
	CU_ASSERT_EQUAL(svc.ctr.udp_fast_gets - fast0, fast ? 1u : 0u);
	CU_ASSERT_EQUAL(have, want);
	CU_ASSERT(have == want && (want < 0 || memcmp(got, ref_flat, (size_t)want) == 0));
	if (have != want || (want > 0 && memcmp(got, ref_flat, (size_t)want) != 0))
		printf("# \"%.*s\": %ld bytes, wanted %ld\n", (int)RTE_MIN(len, 80u), req, have,
		       want);
	CU_ASSERT_EQUAL(h2.hits - h1.hits, h1.hits - h0.hits);
	CU_ASSERT_EQUAL(h2.misses - h1.misses, h1.misses - h0.misses);
	CU_ASSERT_EQUAL(h2.expired - h1.expired, h1.expired - h0.expired);
}

static void check(const char *req, bool fast)
{
	check_n(req, strlen(req), fast, LATER);
}

static void test_hits_and_misses(void)
{
	check("get a\r\n", true);
	check("get a\n", true);
	check("get b\r\n", true);
	check("get missing\r\n", true);
	check("get empty\r\n", true);
	check("get flags\r\n", true);
	check("get kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\r\n", true);
	check("get a b c missing empty flags\r\n", true);
	check("get missing missing\r\n", true);
	check("get a a a\r\n", true);
	check("get  a   b \r\n", true);
	check("get a noreply\r\n", true);
}

static void test_gets_cas(void)
{
	check("gets a\r\n", true);
	check("gets a b missing c\r\n", true);
	check("gets flags empty\r\n", true);
}

static void test_expired(void)
{
	check_n("get expired\r\n", 13, true, NOW); /* live */
	check("get expired\r\n", true);		   /* gone: a miss */
	check("gets expired a\r\n", true);
}

static void test_datagram_boundaries(void)
{
	char line[512];

	for (size_t i = 0; i < sizeof(value_lens) / sizeof(value_lens[0]); i++) {
		snprintf(line, sizeof(line), "get v%u\r\n", value_lens[i]);
		check(line, true);
		snprintf(line, sizeof(line), "gets a v%u b v%u\r\n", value_lens[i], value_lens[i]);
		check(line, true);
	}
	check("get v1341 v1342 v1343 v1400 v1401 v2800 a\r\n", true);
	check("get huge\r\n", true);
	check("get a huge b\r\n", true);
}

static void test_too_large(void)
{
	/* two 1 MB values: more than 1024 datagrams; neither path answers */
	check("get huge huge\r\n", true);
	CU_ASSERT(svc.ctr.drop_udp_reply_too_large > 0);
}

static void test_long_keys(void)
{
	char line[600], key[300];

	memset(key, 'x', sizeof(key));
	snprintf(line, sizeof(line), "get %.*s\r\n", PROTO_KEY_MAX, key);
	check(line, true);
	snprintf(line, sizeof(line), "get a %.*s\r\n", PROTO_KEY_MAX + 1, key);
	check(line, false); /* CLIENT_ERROR, from the executor */
}

static void test_declined(void)
{
	char line[1024];
	size_t n = 0;

	check("get \r\n", false);
	check("get a\rb\r\n", false);
	check("get a\r\nget b\r\n", false);
	check("GET a\r\n", false);
	check("gat 0 a\r\n", false); /* not allowed over UDP: CLIENT_ERROR */
	check("mg a v\r\n", false);
	check("mn\r\n", false);
	check("get a", false); /* no end of line: no reply */
	check_n("get a\0b\r\n", 9, false, LATER);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "get");
	for (unsigned i = 0; i <= PROTO_UDP_GET_KEYS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", i % 2 ? "a" : "missing");
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\r\n");
	check_n(line, n, false, LATER);
}

/* The reply is built in the request's own mbuf, and no mbuf goes astray. */
static void test_mbufs(void)
{
	unsigned before, after;
	struct udp_dgram d;
	struct rte_mbuf *m;
	int n;

	udp_reply_release(&svc.reply);
	before = rte_mempool_avail_count(pool);
	m = request("get a\r\n", 7, 1, &d);
	n = serve_one(&svc, m, &d, LATER);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT(sent[0] == m);
	collect(n, 1);
	/* declined lines, misses and no reply at all */
	check("mn\r\n", false);
	check("get missing\r\n", true);
	check("get a", false);
	check("get huge huge\r\n", true);
	check("get huge\r\n", true);
	udp_reply_release(&svc.reply);
	after = rte_mempool_avail_count(pool);
	CU_ASSERT_EQUAL(after, before);
}

/* With the shortcut's commands refused over UDP, the executor refuses them. */
static void test_get_not_allowed(void)
{
	struct proto_config pcfg = {.udp = true, .udp_allow = PROTO_CMD_BIT(PROTO_CMD_MG)};
	static struct udp_service only_mg;
	struct udp_dgram d;
	struct rte_mbuf *m;
	int n;

	CU_ASSERT_EQUAL_FATAL(udp_service_setup(&only_mg, store, 0, &pcfg, pool, SOCKET_ID_ANY),
			      0);
	m = request("get a\r\n", 7, 9, &d);
	n = serve_one(&only_mg, m, &d, LATER);
	CU_ASSERT_EQUAL(only_mg.ctr.udp_fast_gets, 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	{
		struct rte_mbuf *r = sent[0];
		const char *p = rte_pktmbuf_mtod_offset(r, const char *, UDP_REPLY_HDRS);
		static const char want[] = "CLIENT_ERROR command not allowed over UDP\r\n";

		CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(r), UDP_REPLY_HDRS + sizeof(want) - 1);
		CU_ASSERT_EQUAL(memcmp(p, want, sizeof(want) - 1), 0);
	}
	rte_pktmbuf_free_bulk(sent, (unsigned)n);
	udp_service_teardown(&only_mg);
}

/* The request id of sent[i]'s reply. */
static uint16_t sent_req_id(unsigned int i)
{
	const uint8_t *f = rte_pktmbuf_mtod_offset(sent[i], const uint8_t *, UDP_REPLY_HDRS -
									     PROTO_UDP_HDR_LEN);

	return (uint16_t)(f[0] << 8 | f[1]);
}

/*
 * A whole burst staged, then run: every request is answered as it would be
 * alone (the executor's bytes), in the order staged; a bad frame header is
 * dropped at staging, and requests without a reply send nothing.
 */
static void test_batch(void)
{
	static const char *const reqs[] = {
	    "get a\r\n",	     "get missing\r\n", "gets a b c\r\n", "mn\r\n",
	    "get v2800 a\r\n", "get a noreply\r\n", "get a",	    "GET a\r\n",
	    "get huge\r\n",     "gets empty flags kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\r\n",
	};
	enum { NREQ = sizeof(reqs) / sizeof(reqs[0]) };
	uint64_t drops0 = svc.ctr.drop_udp_frame, fast0 = svc.ctr.udp_fast_gets;
	unsigned int before = rte_mempool_avail_count(pool), at = 0, fast = 0;
	long want[NREQ];
	struct udp_dgram d;
	struct rte_mbuf *m;

	CU_ASSERT_FATAL(NREQ <= BATCH_MAX);
	nsent = 0;
	for (unsigned int i = 0; i < NREQ; i++) {
		size_t len = strlen(reqs[i]);

		want[i] = reference(reqs[i], len, LATER);
		if (want[i] > 0) {
			char *copy = malloc((size_t)want[i]);

			CU_ASSERT_FATAL(copy != NULL);
			memcpy(copy, ref_flat, (size_t)want[i]);
			ref_flat_saved[i] = copy;
		}
		fast += strncmp(reqs[i], "get", 3) == 0 && strchr(reqs[i], '\n') != NULL;
		m = request(reqs[i], len, (uint16_t)(500 + i), &d);
		pipe_in(&svc, m, &d, LATER);
		if (i == 3) { /* a frame header announcing two datagrams: dropped */
			m = request("get a\r\n", 7, 499, &d);
			((uint8_t *)(uintptr_t)d.payload)[5] = 2;
			pipe_in(&svc, m, &d, LATER);
		}
	}
	pipe_drain(&svc, LATER);
	CU_ASSERT_EQUAL(svc.ctr.drop_udp_frame - drops0, 1);
	CU_ASSERT_EQUAL(svc.ctr.udp_fast_gets - fast0, fast);
	for (unsigned int i = 0; i < NREQ; i++) {
		unsigned int n = 0;
		long have;

		while (at + n < nsent && sent_req_id(at + n) == 500 + i)
			n++;
		if (want[i] < 0) {
			CU_ASSERT_EQUAL(n, 0);
			continue;
		}
		have = collect_at(at, (int)n, (uint16_t)(500 + i));
		at += n;
		CU_ASSERT_EQUAL(have, want[i]);
		CU_ASSERT(have == want[i] && memcmp(got, ref_flat_saved[i], (size_t)have) == 0);
		free(ref_flat_saved[i]);
		ref_flat_saved[i] = NULL;
	}
	CU_ASSERT_EQUAL(at, nsent);
	udp_reply_release(&svc.reply);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), before);
}

/* sent[at] is the whole reply `want` to request `req_id`. */
static void expect_reply(unsigned int at, uint16_t req_id, const char *want)
{
	long have = collect_at(at, 1, req_id);

	CU_ASSERT(have == (long)strlen(want) && memcmp(got, want, strlen(want)) == 0);
}

/*
 * With sets allowed over UDP, a get staged after a set in the same batch
 * sees the set, and one staged before it does not: requests run in order.
 */
static void test_batch_order(void)
{
	struct proto_config pcfg = {.item_size_max = 2u << 20, .udp = true,
				    .udp_allow = PROTO_UDP_ALLOW_DEFAULT |
						 PROTO_CMD_BIT(PROTO_CMD_SET)};
	static const char *const reqs[] = {"get fresh\r\n", "set fresh 5 0 3\r\nabc\r\n",
					   "get fresh\r\n", "set fresh 6 0 2\r\nxy\r\n",
					   "gets fresh a\r\n"};
	static struct udp_service rw;
	struct udp_dgram d;
	unsigned int at = 0;
	char want[128];
	long have;

	CU_ASSERT_EQUAL_FATAL(udp_service_setup(&rw, store, 0, &pcfg, pool, SOCKET_ID_ANY), 0);
	nsent = 0;
	for (unsigned int i = 0; i < 5; i++)
		pipe_in(&rw, request(reqs[i], strlen(reqs[i]), (uint16_t)(600 + i), &d), &d,
			LATER);
	pipe_drain(&rw, LATER);
	CU_ASSERT_EQUAL_FATAL(nsent, 5);
	CU_ASSERT_EQUAL(rw.ctr.udp_fast_gets, 3);
	expect_reply(at++, 600, "END\r\n");
	expect_reply(at++, 601, "STORED\r\n");
	expect_reply(at++, 602, "VALUE fresh 5 3\r\nabc\r\nEND\r\n");
	expect_reply(at++, 603, "STORED\r\n");
	/* the last one as the executor answers it, now that the store holds fresh */
	snprintf(want, sizeof(want), "%s", "gets fresh a\r\n");
	have = reference(want, strlen(want), LATER);
	CU_ASSERT(have > 16 && memcmp(ref_flat, "VALUE fresh 6 2 ", 16) == 0);
	CU_ASSERT(collect_at(at++, 1, 604) == have && memcmp(got, ref_flat, (size_t)have) == 0);
	udp_service_teardown(&rw);
}

static const struct cunit_test tests[] = {
	{"get: hits, misses, multi-key", test_hits_and_misses},
	{"gets: CAS values", test_gets_cas},
	{"expired items miss", test_expired},
	{"values across datagram boundaries, 1 MB", test_datagram_boundaries},
	{"replies too large are dropped", test_too_large},
	{"250-byte keys served, 251 declined", test_long_keys},
	{"declined lines go to the executor", test_declined},
	{"reply in the request's mbuf, none lost", test_mbufs},
	{"get refused over UDP: no shortcut", test_get_not_allowed},
	{"a batch: each request as alone, bad frames dropped", test_batch},
	{"a batch runs in order: a get after a set sees it", test_batch_order},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("udp_get", setup, teardown, tests) < 0)
		return 1;
	return cunit_tap_run();
}
