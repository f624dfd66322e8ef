#include "net.h"

#include <rte_icmp.h>
#include <rte_ip.h>

/* Echo requests become echo replies in place; everything else is dropped. */
enum net_verdict icmp_input(const struct net_iface *ifc, struct net_counters *c,
			    struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t sum;

	(void)ifc;
	if (l4_len < sizeof(*icmp)) {
		net_count(&c->drop_truncated, 1);
		return NET_DROP;
	}
	if (rte_raw_cksum(icmp, l4_len) != 0xffff) {
		net_count(&c->drop_bad_checksum, 1);
		return NET_DROP;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		net_count(&c->drop_icmp_unhandled, 1);
		return NET_DROP;
	}
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	sum = ~rte_raw_cksum(icmp, l4_len);
	icmp->icmp_cksum = sum;
	net_count(&c->icmp_echo_replies, 1);
	return NET_REPLY;
}
