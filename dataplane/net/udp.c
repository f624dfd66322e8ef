#include "udp.h"

#include "cksum.h"

#include <rte_byteorder.h>
#include <rte_ip.h>

/*
 * The ones'-complement sum over pseudo header and datagram; 0xffff when the
 * checksum is right. The pseudo header carries the UDP length, which may be
 * shorter than the IP payload.
 */
static uint16_t udp_checksum_sum(const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp,
				 uint16_t dgram_len)
{
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
	} __rte_packed ph = {ip->src_addr, ip->dst_addr, 0, IPPROTO_UDP, udp->dgram_len};

	return net_cksum_fold(net_cksum_add(net_cksum_add(0, &ph, sizeof(ph)), udp, dgram_len));
}

static int port_served(const struct udp_config *cfg, uint16_t port)
{
	if (cfg->port != 0 && port == cfg->port)
		return 1;
	return cfg->port_base != 0 && port >= cfg->port_base &&
	       port - cfg->port_base < cfg->nb_part_ports;
}

/*
 * Checks run in an order that keeps refusals cheap and honest: a datagram is
 * counted as refused by the amplification guard only if it was otherwise well
 * formed and addressed to a port we serve.
 */
enum net_verdict udp_input(const struct udp_config *cfg, struct net_counters *c, uint8_t *frame,
			   uint16_t len, struct udp_dgram *d)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t ip_payload = len - sizeof(*eth) - sizeof(*ip);
	uint16_t dgram_len;

	if (ip_payload < sizeof(*udp)) {
		net_count(&c->drop_truncated, 1);
		return NET_DROP;
	}
	dgram_len = rte_be_to_cpu_16(udp->dgram_len);
	if (dgram_len < sizeof(*udp) || dgram_len > ip_payload) {
		net_count(&c->drop_bad_udp_length, 1);
		return NET_DROP;
	}
	/* Zero means the sender did not compute one (allowed over IPv4). */
	if (udp->dgram_cksum != 0 && udp_checksum_sum(ip, udp, dgram_len) != 0xffff) {
		net_count(&c->drop_bad_checksum, 1);
		return NET_DROP;
	}
	d->dst_port = rte_be_to_cpu_16(udp->dst_port);
	if (!port_served(cfg, d->dst_port)) {
		net_count(&c->drop_no_service, 1);
		return NET_DROP;
	}
	if (!udp_source_allowed(&cfg->allow, ip->src_addr)) {
		net_count(&c->drop_udp_refused, 1);
		return NET_DROP;
	}
	d->eth = eth;
	d->ip = ip;
	d->udp = udp;
	d->payload = (const uint8_t *)(udp + 1);
	d->len = dgram_len - sizeof(*udp);
	return NET_UDP;
}
