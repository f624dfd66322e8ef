/* The network stack on hand-built frames: every reply and every drop reason. */
#include <arpa/inet.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "cunit_tap.h"
#include "net/net.h"

#define OUR_IP "198.18.0.2"
#define PEER_IP "198.18.0.1"

static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x02}};
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static struct net_iface ifc;
static struct net_counters ctr;
static uint8_t frame[2048];

static uint32_t ip(const char *s)
{
	struct in_addr in;

	inet_pton(AF_INET, s, &in);
	return in.s_addr;
}

static void reset(void)
{
	memset(&ctr, 0, sizeof(ctr));
	memset(frame, 0, sizeof(frame));
	ifc.mac = our_mac;
	ifc.ip = ip(OUR_IP);
	ifc.netmask = htonl(0xffffff00);
}

static uint16_t arp_request(const char *target, const struct rte_ether_addr *dst)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	eth->dst_addr = *dst;
	eth->src_addr = peer_mac;
	eth->ether_type = htons(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = htons(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = htons(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = htons(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = peer_mac;
	arp->arp_data.arp_sip = ip(PEER_IP);
	arp->arp_data.arp_tip = ip(target);
	return 60; /* padded to Ethernet's minimum, as a NIC delivers it */
}

/* An IPv4 frame with `payload_len` bytes after the IP header, checksums right. */
static uint16_t ipv4_frame(uint8_t proto, const char *src, const char *dst, uint16_t payload_len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *iph = (struct rte_ipv4_hdr *)(eth + 1);

	eth->dst_addr = our_mac;
	eth->src_addr = peer_mac;
	eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
	iph->version_ihl = 0x45;
	iph->total_length = htons(sizeof(*iph) + payload_len);
	iph->packet_id = htons(7);
	iph->time_to_live = 17;
	iph->next_proto_id = proto;
	iph->src_addr = ip(src);
	iph->dst_addr = ip(dst);
	iph->hdr_checksum = rte_ipv4_cksum(iph);
	return sizeof(*eth) + sizeof(*iph) + payload_len;
}

static struct rte_ipv4_hdr *ip_hdr(void)
{
	return (struct rte_ipv4_hdr *)(frame + sizeof(struct rte_ether_hdr));
}

static uint16_t echo_request(uint16_t data_len)
{
	uint16_t len = ipv4_frame(IPPROTO_ICMP, PEER_IP, OUR_IP, sizeof(struct rte_icmp_hdr) +
									  data_len);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip_hdr() + 1);

	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = htons(0x1234);
	icmp->icmp_seq_nb = htons(1);
	for (uint16_t i = 0; i < data_len; i++)
		((uint8_t *)(icmp + 1))[i] = (uint8_t)i;
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, sizeof(*icmp) + data_len);
	return len;
}

/* Run the frame and expect a drop counted under exactly `counter`. */
static void expect_drop(uint16_t len, const uint64_t *counter)
{
	CU_ASSERT_EQUAL(net_input(&ifc, &ctr, frame, &len), NET_DROP);
	CU_ASSERT_EQUAL(*counter, 1);
	CU_ASSERT_EQUAL(ctr.rx_packets, 1);
	CU_ASSERT_EQUAL(ctr.arp_replies + ctr.icmp_echo_replies, 0);
}

static void test_arp_request_answered(void)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);
	static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	uint16_t len;

	reset();
	len = arp_request(OUR_IP, &bcast);
	CU_ASSERT_EQUAL(net_input(&ifc, &ctr, frame, &len), NET_REPLY);
	CU_ASSERT_EQUAL(len, sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr));
	CU_ASSERT(rte_is_same_ether_addr(&eth->dst_addr, &peer_mac));
	CU_ASSERT(rte_is_same_ether_addr(&eth->src_addr, &our_mac));
	CU_ASSERT_EQUAL(ntohs(arp->arp_opcode), RTE_ARP_OP_REPLY);
	CU_ASSERT(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &our_mac));
	CU_ASSERT_EQUAL(arp->arp_data.arp_sip, ip(OUR_IP));
	CU_ASSERT(rte_is_same_ether_addr(&arp->arp_data.arp_tha, &peer_mac));
	CU_ASSERT_EQUAL(arp->arp_data.arp_tip, ip(PEER_IP));
	CU_ASSERT_EQUAL(ctr.arp_replies, 1);
}

static void test_arp_unicast_to_us_answered(void)
{
	uint16_t len;

	reset();
	len = arp_request(OUR_IP, &our_mac);
	CU_ASSERT_EQUAL(net_input(&ifc, &ctr, frame, &len), NET_REPLY);
}

static void test_arp_for_other_address(void)
{
	static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

	reset();
	expect_drop(arp_request("198.18.0.9", &bcast), &ctr.drop_not_for_us);
}

static void test_arp_reply_not_handled(void)
{
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(frame + sizeof(struct rte_ether_hdr));
	uint16_t len;

	reset();
	len = arp_request(OUR_IP, &our_mac);
	arp->arp_opcode = htons(RTE_ARP_OP_REPLY);
	expect_drop(len, &ctr.drop_arp_unhandled);
}

static void test_arp_truncated(void)
{
	reset();
	arp_request(OUR_IP, &our_mac);
	expect_drop(sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr) - 1,
		    &ctr.drop_truncated);
}

static void test_arp_from_broadcast_source(void)
{
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(frame + sizeof(struct rte_ether_hdr));
	uint16_t len;

	reset();
	len = arp_request(OUR_IP, &our_mac);
	arp->arp_data.arp_sip = ip("198.18.0.255");
	expect_drop(len, &ctr.drop_bad_source);
}

static void test_echo_answered(void)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip_hdr() + 1);
	uint16_t len, req_len;

	reset();
	req_len = len = echo_request(56);
	len += 4; /* trailing padding past the datagram is cut from the reply */
	CU_ASSERT_EQUAL(net_input(&ifc, &ctr, frame, &len), NET_REPLY);
	CU_ASSERT_EQUAL(len, req_len);
	CU_ASSERT(rte_is_same_ether_addr(&eth->dst_addr, &peer_mac));
	CU_ASSERT(rte_is_same_ether_addr(&eth->src_addr, &our_mac));
	CU_ASSERT_EQUAL(ip_hdr()->src_addr, ip(OUR_IP));
	CU_ASSERT_EQUAL(ip_hdr()->dst_addr, ip(PEER_IP));
	CU_ASSERT_EQUAL(rte_raw_cksum(ip_hdr(), sizeof(struct rte_ipv4_hdr)), 0xffff);
	CU_ASSERT_EQUAL(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	CU_ASSERT_EQUAL(ntohs(icmp->icmp_ident), 0x1234);
	CU_ASSERT_EQUAL(rte_raw_cksum(icmp, sizeof(*icmp) + 56), 0xffff);
	CU_ASSERT_EQUAL(((uint8_t *)(icmp + 1))[55], 55);
	CU_ASSERT_EQUAL(ctr.icmp_echo_replies, 1);
	CU_ASSERT_EQUAL(ctr.rx_bytes, req_len + 4);
}

static void test_echo_odd_length(void)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip_hdr() + 1);
	uint16_t len;

	reset();
	len = echo_request(7);
	CU_ASSERT_EQUAL(net_input(&ifc, &ctr, frame, &len), NET_REPLY);
	CU_ASSERT_EQUAL(rte_raw_cksum(icmp, sizeof(*icmp) + 7), 0xffff);
}

static void test_bad_ip_checksum(void)
{
	uint16_t len;

	reset();
	len = ipv4_frame(IPPROTO_UDP, PEER_IP, OUR_IP, 16);
	ip_hdr()->hdr_checksum ^= htons(0x0101);
	expect_drop(len, &ctr.drop_bad_checksum);
}

static void test_bad_icmp_checksum(void)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip_hdr() + 1);
	uint16_t len;

	reset();
	len = echo_request(8);
	icmp->icmp_cksum ^= 1;
	expect_drop(len, &ctr.drop_bad_checksum);
}

static void test_icmp_not_echo(void)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip_hdr() + 1);
	uint16_t len;

	reset();
	len = echo_request(8);
	icmp->icmp_type = 13; /* timestamp */
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = ~rte_raw_cksum(icmp, sizeof(*icmp) + 8);
	expect_drop(len, &ctr.drop_icmp_unhandled);
}

static void test_ip_for_other_host(void)
{
	reset();
	expect_drop(ipv4_frame(IPPROTO_ICMP, PEER_IP, "198.18.0.77", 8), &ctr.drop_not_for_us);
}

static void test_ip_to_other_mac(void)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	uint16_t len;

	reset();
	len = echo_request(8);
	eth->dst_addr = peer_mac;
	expect_drop(len, &ctr.drop_not_for_us);
}

static void test_ip_truncated(void)
{
	uint16_t len;

	reset();
	len = echo_request(32);
	expect_drop(len - 1, &ctr.drop_truncated);
	reset();
	echo_request(0);
	expect_drop(sizeof(struct rte_ether_hdr) + 19, &ctr.drop_truncated);
	reset();
	expect_drop(10, &ctr.drop_truncated);
}

static void test_ip_options(void)
{
	uint16_t len;

	reset();
	len = ipv4_frame(IPPROTO_ICMP, PEER_IP, OUR_IP, 12);
	ip_hdr()->version_ihl = 0x46;
	ip_hdr()->hdr_checksum = 0;
	ip_hdr()->hdr_checksum = rte_ipv4_cksum(ip_hdr());
	expect_drop(len, &ctr.drop_ip_options);
}

static void test_ip_fragment(void)
{
	uint16_t len;

	reset();
	len = echo_request(16);
	ip_hdr()->fragment_offset = htons(RTE_IPV4_HDR_MF_FLAG);
	ip_hdr()->hdr_checksum = 0;
	ip_hdr()->hdr_checksum = rte_ipv4_cksum(ip_hdr());
	expect_drop(len, &ctr.drop_ip_fragment);
}

static void test_ip_bad_version(void)
{
	uint16_t len;

	reset();
	len = echo_request(16);
	ip_hdr()->version_ihl = 0x65;
	expect_drop(len, &ctr.drop_bad_ip_header);
	reset();
	len = echo_request(16);
	ip_hdr()->version_ihl = 0x44;
	expect_drop(len, &ctr.drop_bad_ip_header);
}

static void test_ip_broadcast_source(void)
{
	reset();
	expect_drop(ipv4_frame(IPPROTO_ICMP, "255.255.255.255", OUR_IP, 8), &ctr.drop_bad_source);
	reset();
	expect_drop(ipv4_frame(IPPROTO_ICMP, "224.0.0.1", OUR_IP, 8), &ctr.drop_bad_source);
}

static void test_unknown_protocol(void)
{
	reset();
	expect_drop(ipv4_frame(47 /* GRE */, PEER_IP, OUR_IP, 8), &ctr.drop_unknown_protocol);
}

static void test_udp_and_tcp_delivered(void)
{
	uint16_t len, sent;

	reset();
	sent = len = ipv4_frame(IPPROTO_UDP, PEER_IP, OUR_IP, 8);
	len += 6; /* Ethernet padding is cut */
	CU_ASSERT_EQUAL(net_input(&ifc, &ctr, frame, &len), NET_UDP);
	CU_ASSERT_EQUAL(len, sent);
	reset();
	sent = len = ipv4_frame(IPPROTO_TCP, PEER_IP, OUR_IP, 20);
	CU_ASSERT_EQUAL(net_input(&ifc, &ctr, frame, &len), NET_TCP);
	CU_ASSERT_EQUAL(len, sent);
	CU_ASSERT_EQUAL(ctr.rx_packets, 1);
	CU_ASSERT_EQUAL(ctr.drop_no_service, 0);
}

static void test_unknown_ethertype(void)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;

	reset();
	eth->dst_addr = our_mac;
	eth->ether_type = htons(RTE_ETHER_TYPE_IPV6);
	expect_drop(60, &ctr.drop_unknown_ethertype);
}

static void test_counters_add(void)
{
	struct net_counters a = {0}, b = {0};

	a.rx_packets = 3;
	a.drop_ip_fragment = 2;
	b.rx_packets = 4;
	b.drop_no_service = 1;
	net_counters_add(&a, &b);
	CU_ASSERT_EQUAL(a.rx_packets, 7);
	CU_ASSERT_EQUAL(a.drop_ip_fragment, 2);
	CU_ASSERT_EQUAL(a.drop_no_service, 1);
}

static const struct cunit_test tests[] = {
	{"arp request answered", test_arp_request_answered},
	{"arp unicast request answered", test_arp_unicast_to_us_answered},
	{"arp for another address dropped", test_arp_for_other_address},
	{"arp reply not handled", test_arp_reply_not_handled},
	{"arp truncated", test_arp_truncated},
	{"arp from broadcast source", test_arp_from_broadcast_source},
	{"icmp echo answered", test_echo_answered},
	{"icmp echo with odd length", test_echo_odd_length},
	{"bad ip checksum", test_bad_ip_checksum},
	{"bad icmp checksum", test_bad_icmp_checksum},
	{"icmp other than echo", test_icmp_not_echo},
	{"ip for another host", test_ip_for_other_host},
	{"ip to another mac", test_ip_to_other_mac},
	{"ip truncated", test_ip_truncated},
	{"ip options", test_ip_options},
	{"ip fragment", test_ip_fragment},
	{"ip bad version or header length", test_ip_bad_version},
	{"ip broadcast or multicast source", test_ip_broadcast_source},
	{"unknown ip protocol", test_unknown_protocol},
	{"udp and tcp delivered to their layer", test_udp_and_tcp_delivered},
	{"unknown ethertype", test_unknown_ethertype},
	{"counters add up", test_counters_add},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("net", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
