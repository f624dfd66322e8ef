#include "net.h"

#include <rte_arp.h>
#include <rte_byteorder.h>

/*
 * We answer requests for our address and learn nothing: a server only ever
 * replies, and it replies to the MAC the request came from (the client or the
 * router in front of it), so it needs no neighbour table.
 */
enum net_verdict arp_input(const struct net_iface *ifc, struct net_counters *c,
			   struct rte_ether_hdr *eth, uint16_t l3_len)
{
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_arp_ipv4 *a;

	if (l3_len < sizeof(*arp)) {
		net_count(&c->drop_truncated, 1);
		return NET_DROP;
	}
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != sizeof(uint32_t) ||
	    arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
		net_count(&c->drop_arp_unhandled, 1);
		return NET_DROP;
	}
	a = &arp->arp_data;
	if (a->arp_tip != ifc->ip) {
		net_count(&c->drop_not_for_us, 1);
		return NET_DROP;
	}
	if (!ipv4_source_is_unicast(ifc, a->arp_sip) ||
	    !rte_is_unicast_ether_addr(&a->arp_sha)) {
		net_count(&c->drop_bad_source, 1);
		return NET_DROP;
	}

	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	a->arp_tha = a->arp_sha;
	a->arp_tip = a->arp_sip;
	a->arp_sha = ifc->mac;
	a->arp_sip = ifc->ip;
	eth->dst_addr = a->arp_tha;
	eth->src_addr = ifc->mac;
	net_count(&c->arp_replies, 1);
	return NET_REPLY;
}
