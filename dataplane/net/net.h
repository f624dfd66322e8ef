/*
 * The dataplane's network stack: Ethernet, ARP, IPv4 and ICMP echo.
 *
 * Everything here works on one contiguous frame in memory and never touches
 * DPDK's runtime (only its header structs and inline checksums), so the unit
 * tests drive it with plain buffers. Replies are built in place: the request's
 * buffer becomes the reply and *len its new length.
 */
#ifndef DPCACHE_NET_H
#define DPCACHE_NET_H

#include <stdint.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "net_counters.h"

/* Our identity on one port. Addresses are in network byte order. */
struct net_iface {
	struct rte_ether_addr mac;
	uint32_t ip;
	uint32_t netmask;
};

enum net_verdict {
	NET_DROP = 0, /* counted under its reason; free the buffer */
	NET_REPLY,    /* the buffer now holds the reply: send it */
	NET_UDP,      /* a valid IPv4 datagram to us carrying UDP: see udp_input */
	NET_TCP,      /* a valid IPv4 datagram to us carrying TCP, for the TCP engine */
};

/*
 * Handle one received Ethernet frame of *len bytes. For NET_UDP and NET_TCP,
 * *len becomes the length of Ethernet header plus IP datagram (padding cut).
 */
enum net_verdict net_input(const struct net_iface *ifc, struct net_counters *c, uint8_t *frame,
			   uint16_t *len);

/* Layer handlers, called by net_input; `l3` points past the Ethernet header. */
enum net_verdict arp_input(const struct net_iface *ifc, struct net_counters *c,
			   struct rte_ether_hdr *eth, uint16_t l3_len);
enum net_verdict ipv4_input(const struct net_iface *ifc, struct net_counters *c,
			    struct rte_ether_hdr *eth, uint16_t l3_len, uint16_t *out_l3_len);
enum net_verdict icmp_input(const struct net_iface *ifc, struct net_counters *c,
			    struct rte_ipv4_hdr *ip, uint16_t l4_len);

/* Turn a request's Ethernet and IPv4 headers around for its reply. */
void ipv4_reply_headers(const struct net_iface *ifc, struct rte_ether_hdr *eth,
			struct rte_ipv4_hdr *ip);

/* True if `addr` (network order) may be the source of a packet we answer. */
int ipv4_source_is_unicast(const struct net_iface *ifc, uint32_t addr);

#endif
