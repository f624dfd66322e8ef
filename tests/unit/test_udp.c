/* UDP validation and the amplification guard, on hand-built datagrams. */
#include <arpa/inet.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "cunit_tap.h"
#include "net/udp.h"

static struct udp_config cfg;
static struct net_counters ctr;
static uint8_t frame[2048];
static struct udp_dgram d;

static uint32_t ip(const char *s)
{
	return inet_addr(s);
}

static void reset(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctr, 0, sizeof(ctr));
	memset(frame, 0, sizeof(frame));
	cfg.port = 11211;
	cfg.allow.n = 1;
	cfg.allow.net[0].addr = ip("198.18.0.0");
	cfg.allow.net[0].mask = htonl(0xffffff00);
}

static struct rte_ipv4_hdr *iph(void)
{
	return (struct rte_ipv4_hdr *)(frame + sizeof(struct rte_ether_hdr));
}

static struct rte_udp_hdr *udph(void)
{
	return (struct rte_udp_hdr *)(iph() + 1);
}

/* A UDP datagram from `src` to port `dport` carrying `payload`; returns its frame length. */
static uint16_t datagram_n(const char *src, uint16_t dport, const char *payload, uint16_t plen,
			   int with_cksum)
{
	struct rte_ipv4_hdr *ip4 = iph();
	struct rte_udp_hdr *udp = udph();

	ip4->version_ihl = 0x45;
	ip4->total_length = htons(sizeof(*ip4) + sizeof(*udp) + plen);
	ip4->time_to_live = 64;
	ip4->next_proto_id = IPPROTO_UDP;
	ip4->src_addr = ip(src);
	ip4->dst_addr = ip("198.18.0.2");
	ip4->hdr_checksum = 0;
	ip4->hdr_checksum = rte_ipv4_cksum(ip4);
	udp->src_port = htons(40000);
	udp->dst_port = htons(dport);
	udp->dgram_len = htons(sizeof(*udp) + plen);
	memcpy(udp + 1, payload, plen);
	udp->dgram_cksum = 0;
	udp->dgram_cksum = with_cksum ? rte_ipv4_udptcp_cksum(ip4, udp) : 0;
	return sizeof(struct rte_ether_hdr) + sizeof(*ip4) + sizeof(*udp) + plen;
}

static uint16_t datagram(const char *src, uint16_t dport, const char *payload, int with_cksum)
{
	return datagram_n(src, dport, payload, strlen(payload), with_cksum);
}

static void test_valid_datagram(void)
{
	uint16_t len;

	reset();
	len = datagram_n("198.18.0.1", 11211, "\0\1\0\0\0\1\0\0get k\r\n", 15, 1);
	CU_ASSERT_EQUAL_FATAL(udp_input(&cfg, &ctr, frame, len, &d), NET_UDP);
	CU_ASSERT_EQUAL(d.len, 15);
	CU_ASSERT_EQUAL(d.dst_port, 11211);
	CU_ASSERT_EQUAL(memcmp(d.payload, "\0\1\0\0\0\1\0\0", 8), 0);
}

static void test_zero_checksum_accepted(void)
{
	uint16_t len;

	reset();
	len = datagram("198.18.0.1", 11211, "0123456789abcdefgh", 0);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_UDP);
	CU_ASSERT_EQUAL(d.len, 18);
}

static void test_bad_checksum(void)
{
	uint16_t len;

	reset();
	len = datagram("198.18.0.1", 11211, "0123456789", 1);
	udph()->dgram_cksum ^= htons(0x0100);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_bad_checksum, 1);
	reset();
	len = datagram("198.18.0.1", 11211, "0123456789", 1);
	((uint8_t *)(udph() + 1))[3] ^= 0x40; /* payload corrupted after the checksum */
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_bad_checksum, 1);
}

static void test_bad_lengths(void)
{
	uint16_t len;

	reset();
	len = datagram("198.18.0.1", 11211, "0123456789", 1);
	udph()->dgram_len = htons(7);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_bad_udp_length, 1);
	reset();
	len = datagram("198.18.0.1", 11211, "0123456789", 1);
	udph()->dgram_len = htons(8 + 11);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_bad_udp_length, 1);
	reset();
	datagram("198.18.0.1", 11211, "", 1);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, sizeof(struct rte_ether_hdr) + 20 + 7, &d),
			NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_truncated, 1);
}

static void test_shorter_udp_than_ip_payload(void)
{
	uint16_t len;

	reset();
	/* IP carries 4 trailing bytes past the UDP datagram: the checksum covers UDP's length. */
	len = datagram("198.18.0.1", 11211, "0123456789", 0);
	udph()->dgram_len = htons(8 + 6);
	udph()->dgram_cksum = 0;
	{
		struct rte_ipv4_hdr copy = *iph();

		copy.total_length = htons(20 + 8 + 6);
		udph()->dgram_cksum = rte_ipv4_udptcp_cksum(&copy, udph());
	}
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_UDP);
	CU_ASSERT_EQUAL(d.len, 6);
}

static void test_unserved_port(void)
{
	uint16_t len;

	reset();
	len = datagram("198.18.0.1", 53, "x", 1);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_no_service, 1);
	reset();
	cfg.port = 0; /* UDP off */
	len = datagram("198.18.0.1", 11211, "x", 1);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_no_service, 1);
}

static void test_partition_ports(void)
{
	uint16_t len;

	reset();
	cfg.port_base = 20000;
	cfg.nb_part_ports = 2;
	len = datagram("198.18.0.1", 20001, "x", 1);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_UDP);
	CU_ASSERT_EQUAL(d.dst_port, 20001);
	len = datagram("198.18.0.1", 20002, "x", 1);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_no_service, 1);
}

static void test_source_refused(void)
{
	uint16_t len;

	reset();
	len = datagram("203.0.113.9", 11211, "get k", 1);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_udp_refused, 1);
	/* A second allowed network lets it in. */
	cfg.allow.net[1].addr = ip("203.0.113.0");
	cfg.allow.net[1].mask = htonl(0xffffff00);
	cfg.allow.n = 2;
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_UDP);
	/* No allowed network: nobody is answered. */
	cfg.allow.n = 0;
	len = datagram("198.18.0.1", 11211, "get k", 1);
	CU_ASSERT_EQUAL(udp_input(&cfg, &ctr, frame, len, &d), NET_DROP);
	CU_ASSERT_EQUAL(ctr.drop_udp_refused, 2);
}

static const struct cunit_test tests[] = {
	{"valid datagram", test_valid_datagram},
	{"zero checksum accepted", test_zero_checksum_accepted},
	{"bad checksum", test_bad_checksum},
	{"bad lengths", test_bad_lengths},
	{"udp shorter than ip payload", test_shorter_udp_than_ip_payload},
	{"unserved port", test_unserved_port},
	{"per-partition ports", test_partition_ports},
	{"source outside --udp-allow refused", test_source_refused},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("udp", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
