/* UDP replies built in real mbufs: splitting, frame headers, checksums, limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "cunit_tap.h"
#include "net/cksum.h"
#include "net/udp_reply.h"

static struct rte_mempool *pool;
static struct net_iface ifc;
static uint8_t req_frame[128];
static struct udp_dgram req;
static struct udp_reply reply;
static uint8_t big[2 * 1024 * 1024];

static int setup(void)
{
	char prefix[32];
	char *argv[] = {"test_udp_reply", "--no-huge", "-m", "64", "--no-pci", "--no-shconf",
			"--no-telemetry", "-l", "0", "--log-level=error", "--file-prefix", prefix};

	snprintf(prefix, sizeof(prefix), "udptest%d", getpid());
	if (rte_eal_init(sizeof(argv) / sizeof(argv[0]), argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		return -1;

	ifc.ip = inet_addr("198.18.0.2");
	ifc.netmask = htonl(0xffffff00);
	ifc.mac = (struct rte_ether_addr){{2, 0, 0, 0, 0, 2}};
	req.eth = (struct rte_ether_hdr *)req_frame;
	req.ip = (struct rte_ipv4_hdr *)(req.eth + 1);
	req.udp = (struct rte_udp_hdr *)(req.ip + 1);
	req.eth->src_addr = (struct rte_ether_addr){{2, 0, 0, 0, 0, 1}};
	req.ip->src_addr = inet_addr("198.18.0.1");
	req.udp->src_port = htons(40001);
	req.udp->dst_port = htons(11211);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + (i >> 11));
	return 0;
}

static int teardown(void)
{
	char dir[PATH_MAX];
	int rc;

	udp_reply_release(&reply);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_mempool_free(pool);
	rc = rte_eal_cleanup();
	rmdir(dir); /* empty by now: leave nothing behind */
	return rc;
}

/*
 * The datagram's own sum must complement the pseudo header's: their
 * ones'-complement sum is 0xffff when the checksum is right.
 */
static int udp_checksum_ok(const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp)
{
	uint32_t sum = rte_ipv4_phdr_cksum(ip, 0) + (uint32_t)rte_raw_cksum(udp, ntohs(udp->dgram_len));

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Check datagram i of n and return its payload (after the frame header). */
static const uint8_t *check_dgram(int i, int n, uint16_t request_id, uint16_t *payload_len)
{
	struct rte_mbuf *m = reply.dgrams[i];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	const uint16_t *frame = (const uint16_t *)(udp + 1);

	CU_ASSERT_EQUAL(m->nb_segs, 1);
	CU_ASSERT(rte_is_same_ether_addr(&eth->dst_addr, &req.eth->src_addr));
	CU_ASSERT(rte_is_same_ether_addr(&eth->src_addr, &ifc.mac));
	CU_ASSERT_EQUAL(ip->src_addr, ifc.ip);
	CU_ASSERT_EQUAL(ip->dst_addr, req.ip->src_addr);
	CU_ASSERT_EQUAL(ntohs(ip->total_length), rte_pktmbuf_pkt_len(m) - sizeof(*eth));
	CU_ASSERT_EQUAL(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
	CU_ASSERT_EQUAL(ntohs(udp->src_port), 11211);
	CU_ASSERT_EQUAL(ntohs(udp->dst_port), 40001);
	CU_ASSERT_EQUAL(ntohs(udp->dgram_len), ntohs(ip->total_length) - sizeof(*ip));
	CU_ASSERT(udp_checksum_ok(ip, udp));
	CU_ASSERT_EQUAL(ntohs(frame[0]), request_id);
	CU_ASSERT_EQUAL(ntohs(frame[1]), i);
	CU_ASSERT_EQUAL(ntohs(frame[2]), n);
	CU_ASSERT_EQUAL(frame[3], 0);
	*payload_len = ntohs(udp->dgram_len) - sizeof(*udp) - UDP_FRAME_HDR_LEN;
	return (const uint8_t *)(frame + 4);
}

static void test_small_reply(void)
{
	static const char text[] = "VALUE k 0 1\r\nx\r\nEND\r\n";
	const uint8_t *p;
	uint16_t len;

	udp_reply_begin(&reply, pool);
	CU_ASSERT_EQUAL(udp_reply_write(&reply, "VALUE k 0 1\r\n", 13), 0);
	CU_ASSERT_EQUAL(udp_reply_write(&reply, "x\r\nEND\r\n", 8), 0);
	CU_ASSERT_EQUAL_FATAL(udp_reply_finish(&reply, &ifc, &req, 0x4242, 0), 1);
	p = check_dgram(0, 1, 0x4242, &len);
	CU_ASSERT_EQUAL(len, sizeof(text) - 1);
	CU_ASSERT_EQUAL(memcmp(p, text, len), 0);
	udp_reply_abort(&reply);
}

/*
 * One rule for cutting replies: the datagrams built in mbufs carry the same
 * frame headers and the same payloads as lib/proto's splitter makes of the
 * same bytes.
 */
static void check_same_as_splitter(int n, size_t total, uint16_t request_id)
{
	struct iovec in = {big, total}, piece[4];
	struct proto_udp_splitter sp;
	uint8_t hdr[PROTO_UDP_HDR_LEN];
	unsigned cnt;

	CU_ASSERT_EQUAL_FATAL(proto_udp_split_init(&sp, request_id, &in, 1, total, 0), n);
	for (int i = 0; i < n; i++) {
		const uint8_t *frame = rte_pktmbuf_mtod_offset(reply.dgrams[i], const uint8_t *,
							       UDP_REPLY_HDRS - UDP_FRAME_HDR_LEN);
		long len = proto_udp_split_next(&sp, hdr, piece, 4, &cnt);

		CU_ASSERT_EQUAL(memcmp(frame, hdr, sizeof(hdr)), 0);
		CU_ASSERT_EQUAL(len, (long)(rte_pktmbuf_pkt_len(reply.dgrams[i]) - UDP_REPLY_HDRS));
		CU_ASSERT_EQUAL_FATAL(cnt, 1);
		CU_ASSERT_EQUAL(memcmp(frame + sizeof(hdr), piece[0].iov_base, piece[0].iov_len), 0);
	}
	CU_ASSERT_EQUAL(proto_udp_split_next(&sp, hdr, piece, 4, &cnt), 0);
}

/* Write `total` bytes of `big` in pieces of `piece`, then check the split. */
static void check_split(size_t total, size_t piece)
{
	size_t off = 0, expect_n = (total + UDP_REPLY_PAYLOAD_MAX - 1) / UDP_REPLY_PAYLOAD_MAX;
	int n;

	udp_reply_begin(&reply, pool);
	for (size_t w = 0; w < total; w += piece)
		udp_reply_write(&reply, big + w, RTE_MIN(piece, total - w));
	n = udp_reply_finish(&reply, &ifc, &req, 7, 0);
	CU_ASSERT_EQUAL_FATAL(n, (int)expect_n);
	for (int i = 0; i < n; i++) {
		uint16_t len;
		const uint8_t *p = check_dgram(i, n, 7, &len);

		CU_ASSERT_EQUAL(len, i + 1 < n ? UDP_REPLY_PAYLOAD_MAX : total - off);
		CU_ASSERT_EQUAL(memcmp(p, big + off, len), 0);
		off += len;
	}
	CU_ASSERT_EQUAL(off, total);
	check_same_as_splitter(n, total, 7);
	udp_reply_abort(&reply);
}

static void test_split_exact(void)
{
	check_split(UDP_REPLY_PAYLOAD_MAX, UDP_REPLY_PAYLOAD_MAX);
	check_split(UDP_REPLY_PAYLOAD_MAX + 1, 1000);
	check_split(3 * UDP_REPLY_PAYLOAD_MAX, 7);
}

static void test_split_one_megabyte(void)
{
	check_split(1024 * 1024 + 30, 65536);
}

static void test_too_many_datagrams(void)
{
	unsigned int before;

	udp_reply_release(&reply); /* count the mbufs the writer keeps at hand, too */
	before = rte_mempool_avail_count(pool);

	udp_reply_begin(&reply, pool);
	udp_reply_write(&reply, big, UDP_REPLY_PAYLOAD_MAX * UDP_REPLY_MAX_DGRAMS);
	CU_ASSERT_EQUAL(reply.error, 0);
	CU_ASSERT_EQUAL(udp_reply_write(&reply, "x", 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(udp_reply_write(&reply, "y", 1), -EMSGSIZE);
	CU_ASSERT_EQUAL(udp_reply_finish(&reply, &ifc, &req, 1, 0), -EMSGSIZE);
	udp_reply_release(&reply);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), before); /* nothing leaked */
}

static void test_pool_exhausted(void)
{
	struct rte_mbuf *hog[4095];
	unsigned int avail, keep = 2;

	udp_reply_release(&reply);
	avail = rte_mempool_avail_count(pool);

	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_alloc_bulk(pool, hog, avail - keep), 0);
	udp_reply_begin(&reply, pool);
	CU_ASSERT_EQUAL(udp_reply_write(&reply, big, 3 * UDP_REPLY_PAYLOAD_MAX), -ENOBUFS);
	CU_ASSERT_EQUAL(udp_reply_finish(&reply, &ifc, &req, 1, 0), -ENOBUFS);
	udp_reply_release(&reply);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), keep);
	rte_pktmbuf_free_bulk(hog, avail - keep);
}

static void test_offload_flags(void)
{
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;

	udp_reply_begin(&reply, pool);
	udp_reply_write(&reply, "END\r\n", 5);
	CU_ASSERT_EQUAL_FATAL(udp_reply_finish(&reply, &ifc, &req, 3, 1), 1);
	m = reply.dgrams[0];
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	CU_ASSERT((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) != 0);
	CU_ASSERT((m->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM) != 0);
	CU_ASSERT_EQUAL(m->l2_len, sizeof(struct rte_ether_hdr));
	CU_ASSERT_EQUAL(m->l3_len, sizeof(struct rte_ipv4_hdr));
	CU_ASSERT_EQUAL(ip->hdr_checksum, 0); /* left to the NIC */
	udp_reply_abort(&reply);
}


/* Every small payload size: the checksum's padding and odd last bytes. */
static void test_small_sizes(void)
{
	for (size_t total = 0; total <= 70; total++)
		check_split(total == 0 ? 1 : total, 7);
}

/* Marks and rewinds, inside a datagram and back across datagrams. */
static void test_mark_rewind(void)
{
	struct udp_reply_mark m1, m2;
	unsigned int before;
	const uint8_t *p;
	uint16_t len;
	char *w;

	udp_reply_release(&reply);
	before = rte_mempool_avail_count(pool);
	udp_reply_begin(&reply, pool);
	udp_reply_write(&reply, "VALUE a 0 1\r\nx\r\n", 16);
	udp_reply_mark(&reply, &m1);
	udp_reply_write(&reply, "junk", 4);
	udp_reply_rewind(&reply, &m1);
	udp_reply_mark(&reply, &m2);
	udp_reply_write(&reply, big, 5 * UDP_REPLY_PAYLOAD_MAX); /* into 6 datagrams */
	CU_ASSERT_EQUAL(reply.n, 6);
	udp_reply_rewind(&reply, &m2); /* back to the first, the others freed */
	CU_ASSERT_EQUAL(reply.n, 1);
	w = udp_reply_reserve(&reply, 5);
	CU_ASSERT_FATAL(w != NULL);
	memcpy(w, "END\r\n", 5);
	udp_reply_commit(&reply, 5);
	CU_ASSERT_EQUAL(udp_reply_reserve(&reply, UDP_REPLY_PAYLOAD_MAX), NULL);
	CU_ASSERT_EQUAL_FATAL(udp_reply_finish(&reply, &ifc, &req, 5, 0), 1);
	p = check_dgram(0, 1, 5, &len);
	CU_ASSERT_EQUAL(len, 21);
	CU_ASSERT_EQUAL(memcmp(p, "VALUE a 0 1\r\nx\r\nEND\r\n", 21), 0);
	udp_reply_abort(&reply);
	udp_reply_release(&reply);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), before);
}

/* The first datagram in the request's own mbuf; a shared mbuf is not taken. */
static void test_begin_in(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *f;
	const uint8_t *p;
	uint16_t len;
	struct udp_dgram in;

	CU_ASSERT_FATAL(m != NULL);
	f = (uint8_t *)rte_pktmbuf_append(m, sizeof(req_frame));
	memcpy(f, req_frame, sizeof(req_frame));
	in = req;
	in.eth = (struct rte_ether_hdr *)f;
	in.ip = (struct rte_ipv4_hdr *)(in.eth + 1);
	in.udp = (struct rte_udp_hdr *)(in.ip + 1);
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	CU_ASSERT_FATAL(udp_reply_begin_in(&reply, pool, m));
	CU_ASSERT(reply.dgrams[0] == m);
	CU_ASSERT_EQUAL(m->ol_flags, 0);
	udp_reply_write(&reply, "END\r\n", 5);
	/* the request's headers, in the same buffer, still say where to answer */
	CU_ASSERT_EQUAL_FATAL(udp_reply_finish(&reply, &ifc, &in, 8, 0), 1);
	p = check_dgram(0, 1, 8, &len);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_EQUAL(memcmp(p, "END\r\n", 5), 0);
	udp_reply_abort(&reply); /* frees m */

	m = rte_pktmbuf_alloc(pool);
	CU_ASSERT_FATAL(m != NULL);
	rte_mbuf_refcnt_update(m, 1); /* someone else holds it too */
	CU_ASSERT_FALSE(udp_reply_begin_in(&reply, pool, m));
	CU_ASSERT_EQUAL(reply.n, 0);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(m);
}

/* net/cksum.h against rte_raw_cksum: every length to 300 at every alignment. */
static void test_cksum(void)
{
	static uint8_t buf[400];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++) {
			uint16_t want = rte_raw_cksum(buf + off, len);

			CU_ASSERT_EQUAL(net_cksum_fold(net_cksum_add(0, buf + off, len)), want);
			CU_ASSERT_EQUAL(net_cksum_fold(net_cksum_add(0x123456789abULL, buf + off, len)),
					net_cksum_fold(0x123456789abULL + want));
		}
	/* all ones: the carries */
	memset(buf, 0xff, sizeof(buf));
	CU_ASSERT_EQUAL(net_cksum_fold(net_cksum_add(0, buf, sizeof(buf))), 0xffff);
}

static const struct cunit_test tests[] = {
	{"small reply in one datagram", test_small_reply},
	{"split at datagram boundaries", test_split_exact},
	{"1 MB value split with sequence numbers", test_split_one_megabyte},
	{"too many datagrams", test_too_many_datagrams},
	{"mbuf pool exhausted", test_pool_exhausted},
	{"checksum offload flags", test_offload_flags},
	{"payloads of 1 to 70 bytes", test_small_sizes},
	{"mark, rewind, reserve", test_mark_rewind},
	{"first datagram in the request's mbuf", test_begin_in},
	{"software checksums against rte_raw_cksum", test_cksum},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("udp_reply", setup, teardown, tests) < 0)
		return 1;
	return cunit_tap_run();
}
