/* The DPDK port the memif transports share (lg_memif.c, lg_tcp.c). */
#ifndef DPCACHE_LG_MEMIF_H
#define DPCACHE_LG_MEMIF_H

#include "loadgen.h"

#include <rte_ether.h>
#include <rte_mempool.h>

#define LG_BURST 32u

struct lg_port {
	uint16_t port_id;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	struct rte_ether_addr server_mac;
	bool server_mac_known;
	uint32_t local_ip, server_ip; /* network order */
	uint16_t server_port, src_port;
};

uint64_t lg_now(void);
uint64_t lg_ticks(double seconds);
double lg_ns_per_tick(void);

/* A burst of received frames, ARP already answered and taken out. */
unsigned int lg_port_rx(struct lg_port *p, struct rte_mbuf **pkts, unsigned int max);
/* Ethernet and IPv4 headers (checksummed) for l4_len bytes of proto to the server. */
void lg_ip_header(const struct lg_port *p, struct rte_mbuf *m, uint8_t proto, uint16_t l4_len);
void *lg_ip_input(const struct lg_port *p, struct rte_mbuf *m, uint8_t proto, size_t *l4_len);
int lg_preload_verdict(const struct lg_workload *w, const struct lg_stats *s);

int lg_run_tcp(struct lg_port *p, const struct lg_options *o, const struct lg_workload *w,
	       struct lg_stats *s, double *seconds);

#endif
