#include "net.h"

#include <rte_byteorder.h>
#include <rte_ip.h>

#define IPV4_DEFAULT_TTL 64

int ipv4_source_is_unicast(const struct net_iface *ifc, uint32_t addr)
{
	uint32_t host = rte_be_to_cpu_32(addr);

	if (host == 0 || host == UINT32_MAX)
		return 0;
	if ((host >> 28) == 0xe) /* 224.0.0.0/4 multicast */
		return 0;
	/* The directed broadcast of our own subnet. */
	if (ifc->netmask != UINT32_MAX && (addr | ifc->netmask) == UINT32_MAX)
		return 0;
	return 1;
}

void ipv4_reply_headers(const struct net_iface *ifc, struct rte_ether_hdr *eth,
			struct rte_ipv4_hdr *ip)
{
	eth->dst_addr = eth->src_addr;
	eth->src_addr = ifc->mac;
	ip->dst_addr = ip->src_addr;
	ip->src_addr = ifc->ip;
	ip->time_to_live = IPV4_DEFAULT_TTL;
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/*
 * Checks run cheapest-first, and each failure has its own counter: an
 * operator who sees drops can tell a broken peer from traffic for someone else.
 */
enum net_verdict ipv4_input(const struct net_iface *ifc, struct net_counters *c,
			    struct rte_ether_hdr *eth, uint16_t l3_len, uint16_t *out_l3_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t total_len, l4_len;
	enum net_verdict v;

	if (l3_len < sizeof(*ip)) {
		net_count(&c->drop_truncated, 1);
		return NET_DROP;
	}
	if ((ip->version_ihl >> 4) != 4 || (ip->version_ihl & 0xf) < 5) {
		net_count(&c->drop_bad_ip_header, 1);
		return NET_DROP;
	}
	total_len = rte_be_to_cpu_16(ip->total_length);
	/* A frame may be longer than its datagram (Ethernet padding), never shorter. */
	if (total_len > l3_len || total_len < rte_ipv4_hdr_len(ip)) {
		net_count(&c->drop_truncated, 1);
		return NET_DROP;
	}
	if (rte_raw_cksum(ip, rte_ipv4_hdr_len(ip)) != 0xffff) {
		net_count(&c->drop_bad_checksum, 1);
		return NET_DROP;
	}
	if (ip->dst_addr != ifc->ip) {
		net_count(&c->drop_not_for_us, 1);
		return NET_DROP;
	}
	if ((ip->version_ihl & 0xf) != 5) {
		net_count(&c->drop_ip_options, 1);
		return NET_DROP;
	}
	if (ip->fragment_offset &
	    rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		net_count(&c->drop_ip_fragment, 1);
		return NET_DROP;
	}
	if (!ipv4_source_is_unicast(ifc, ip->src_addr)) {
		net_count(&c->drop_bad_source, 1);
		return NET_DROP;
	}

	l4_len = total_len - sizeof(*ip);
	switch (ip->next_proto_id) {
	case IPPROTO_ICMP:
		v = icmp_input(ifc, c, ip, l4_len);
		break;
	case IPPROTO_UDP:
		*out_l3_len = total_len;
		return NET_UDP;
	case IPPROTO_TCP:
		*out_l3_len = total_len;
		return NET_TCP;
	default:
		net_count(&c->drop_unknown_protocol, 1);
		return NET_DROP;
	}
	if (v == NET_REPLY) {
		ipv4_reply_headers(ifc, eth, ip);
		*out_l3_len = total_len;
	}
	return v;
}
