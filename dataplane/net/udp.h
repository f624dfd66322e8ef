/*
 * UDP: validation of datagrams that net_input classified NET_UDP, the
 * amplification guard (only sources inside --udp-allow are answered), and the
 * ports that a service serves. Pure like the rest of net/: plain buffers in,
 * a verdict and a view of the payload out.
 */
#ifndef DPCACHE_UDP_H
#define DPCACHE_UDP_H

#include <stdint.h>

#include <rte_udp.h>

#include "net.h"

#define UDP_ALLOW_MAX 16

/* Networks whose hosts may receive UDP replies. Network byte order. */
struct udp_allow {
	unsigned int n;
	struct {
		uint32_t addr;
		uint32_t mask;
	} net[UDP_ALLOW_MAX];
};

struct udp_config {
	struct udp_allow allow;
	uint16_t port;		 /* served port (host order); 0: UDP off */
	uint16_t port_base;	 /* first per-partition port; 0: none */
	uint16_t nb_part_ports;	 /* how many per-partition ports */
};

/* One validated datagram. Pointers into the frame. */
struct udp_dgram {
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	const uint8_t *payload;
	uint16_t len;		/* payload bytes */
	uint16_t dst_port;	/* host order */
};

/*
 * Validate the UDP datagram in `frame` (net_input said NET_UDP; len is the
 * Ethernet header plus IP datagram). Returns NET_UDP with *d filled, or
 * NET_DROP counted under its reason.
 */
enum net_verdict udp_input(const struct udp_config *cfg, struct net_counters *c, uint8_t *frame,
			   uint16_t len, struct udp_dgram *d);

/* True if `addr` (network order) lies in one of the allowed networks. */
static inline int udp_source_allowed(const struct udp_allow *allow, uint32_t addr)
{
	for (unsigned int i = 0; i < allow->n; i++)
		if ((addr & allow->net[i].mask) == allow->net[i].addr)
			return 1;
	return 0;
}

#endif
