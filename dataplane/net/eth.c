#include "net.h"

#include <rte_byteorder.h>

static int mac_is_ours(const struct net_iface *ifc, const struct rte_ether_addr *dst)
{
	return rte_is_same_ether_addr(dst, &ifc->mac);
}

enum net_verdict net_input(const struct net_iface *ifc, struct net_counters *c, uint8_t *frame,
			   uint16_t *len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	uint16_t l3_len, out_l3_len;
	enum net_verdict v;

	net_count(&c->rx_packets, 1);
	net_count(&c->rx_bytes, *len);
	if (*len < sizeof(*eth)) {
		net_count(&c->drop_truncated, 1);
		return NET_DROP;
	}
	l3_len = *len - sizeof(*eth);

	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		if (!mac_is_ours(ifc, &eth->dst_addr) && !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
			net_count(&c->drop_not_for_us, 1);
			return NET_DROP;
		}
		v = arp_input(ifc, c, eth, l3_len);
		if (v == NET_REPLY)
			*len = sizeof(*eth) + sizeof(struct rte_arp_hdr);
		return v;
	case RTE_ETHER_TYPE_IPV4:
		if (!mac_is_ours(ifc, &eth->dst_addr)) {
			net_count(&c->drop_not_for_us, 1);
			return NET_DROP;
		}
		v = ipv4_input(ifc, c, eth, l3_len, &out_l3_len);
		if (v != NET_DROP)
			*len = sizeof(*eth) + out_l3_len;
		return v;
	default:
		net_count(&c->drop_unknown_ethertype, 1);
		return NET_DROP;
	}
}

void net_counters_add(struct net_counters *sum, const struct net_counters *src)
{
#define NET_COUNTER_ADD(name, desc) sum->name += net_counter_read(&src->name);
	NET_COUNTERS(NET_COUNTER_ADD)
#undef NET_COUNTER_ADD
}
