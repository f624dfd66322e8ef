/*
 * The DPDK side: one port (net_memif to dpcached), one queue, everything on
 * the main lcore (pin it with -l to the core dpcached's worker is not on).
 * The server's MAC comes from --server-mac or an ARP request; ARP requests
 * for our address are answered. UDP gets are built straight into mbufs and
 * their replies matched by frame request id; TCP is lg_tcp.c's.
 */
#include "lg_memif.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define NB_MBUFS 8191 /* rings of 1024 each way, bursts, 256 TCP segments pending */
#define NB_DESC	 1024

uint64_t lg_now(void)
{
	return rte_rdtsc();
}

uint64_t lg_ticks(double seconds)
{
	return (uint64_t)(seconds * (double)rte_get_tsc_hz());
}

double lg_ns_per_tick(void)
{
	return 1e9 / (double)rte_get_tsc_hz();
}

static int port_start(struct lg_port *p)
{
	struct rte_eth_conf conf;
	uint64_t deadline;
	int rc;

	memset(&conf, 0, sizeof(conf));
	if (!rte_eth_dev_is_valid_port(p->port_id)) {
		fprintf(stderr, "dpcache-loadgen: no DPDK port %u (give --vdev=net_memif0,...)\n",
			p->port_id);
		return -1;
	}
	rc = rte_eth_dev_configure(p->port_id, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(p->port_id, 0, NB_DESC, rte_socket_id(), NULL, p->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(p->port_id, 0, NB_DESC, rte_socket_id(), NULL);
	/*
	 * A memif client's start fails while the server still tears down its
	 * previous peer (the loadgen run just before): try again for 5 s.
	 */
	deadline = lg_now() + lg_ticks(5);
	while (rc == 0 && (rc = rte_eth_dev_start(p->port_id)) != 0 && lg_now() < deadline)
		rte_delay_ms(100);
	if (rc == 0)
		rc = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (rc != 0) {
		fprintf(stderr, "dpcache-loadgen: port %u: %s\n", p->port_id, rte_strerror(-rc));
		return -1;
	}
	/* memif: the link comes up once the peer has connected to the socket. */
	deadline = lg_now() + lg_ticks(20);
	for (;;) {
		struct rte_eth_link link;

		if (rte_eth_link_get_nowait(p->port_id, &link) == 0 && link.link_status)
			return 0;
		if (lg_now() > deadline) {
			fprintf(stderr, "dpcache-loadgen: port %u: link down after 20 s (peer?)\n",
				p->port_id);
			return -1;
		}
		rte_delay_ms(10);
	}
}

/* Answer an ARP request for our address in place; learn the server's MAC from its frames. */
static void arp_input(struct lg_port *p, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	if (m->data_len < sizeof(*eth) + sizeof(*arp))
		goto drop;
	if (arp->arp_data.arp_sip == p->server_ip && !p->server_mac_known) {
		p->server_mac = arp->arp_data.arp_sha;
		p->server_mac_known = true;
	}
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_data.arp_tip != p->local_ip)
		goto drop;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = p->mac;
	arp->arp_data.arp_sip = p->local_ip;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = p->mac;
	if (rte_eth_tx_burst(p->port_id, 0, &m, 1) == 1)
		return;
drop:
	rte_pktmbuf_free(m);
}

static void arp_request(struct lg_port *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = p->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = p->mac;
	arp->arp_data.arp_sip = p->local_ip;
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = p->server_ip;
	if (rte_eth_tx_burst(p->port_id, 0, &m, 1) != 1)
		rte_pktmbuf_free(m);
}

unsigned int lg_port_rx(struct lg_port *p, struct rte_mbuf **pkts, unsigned int max)
{
	struct rte_mbuf *burst[LG_BURST];
	uint16_t n = rte_eth_rx_burst(p->port_id, 0, burst, (uint16_t)RTE_MIN(max, LG_BURST));
	unsigned int kept = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(burst[i], struct rte_ether_hdr *);

		if (burst[i]->data_len >= sizeof(*eth) &&
		    eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
			arp_input(p, burst[i]);
		else
			pkts[kept++] = burst[i];
	}
	return kept;
}

static int resolve_server(struct lg_port *p)
{
	uint64_t deadline = lg_now() + lg_ticks(5), next = 0;

	while (!p->server_mac_known) {
		struct rte_mbuf *pkts[LG_BURST];
		unsigned int n;

		if (lg_now() > deadline) {
			fprintf(stderr, "dpcache-loadgen: no ARP reply from the server in 5 s\n");
			return -1;
		}
		if (lg_now() >= next) {
			arp_request(p);
			next = lg_now() + lg_ticks(0.1);
		}
		n = lg_port_rx(p, pkts, LG_BURST);
		rte_pktmbuf_free_bulk(pkts, n);
	}
	return 0;
}

void lg_ip_header(const struct lg_port *p, struct rte_mbuf *m, uint8_t proto, uint16_t l4_len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	eth->dst_addr = p->server_mac;
	eth->src_addr = p->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = p->local_ip;
	ip->dst_addr = p->server_ip;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/*
 * An IPv4 packet from the server to us with this protocol; returns its L4
 * header and the bytes after the IP header, or NULL.
 */
void *lg_ip_input(const struct lg_port *p, struct rte_mbuf *m, uint8_t proto, size_t *l4_len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	size_t ihl, total;

	if (m->data_len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->next_proto_id != proto || ip->src_addr != p->server_ip ||
	    ip->dst_addr != p->local_ip)
		return NULL;
	ihl = rte_ipv4_hdr_len(ip);
	total = rte_be_to_cpu_16(ip->total_length);
	if (total < ihl || sizeof(*eth) + total > rte_pktmbuf_pkt_len(m))
		return NULL;
	*l4_len = total - ihl;
	return (char *)ip + ihl;
}

/* UDP: build up to a burst of requests into mbufs and send them. */
static void udp_send(struct lg_port *p, struct lg_window *win, struct lg_cursor *c,
		     struct lg_stats *s)
{
	struct rte_mbuf *m[LG_BURST];
	uint32_t keys[LG_BURST];
	enum lg_op ops[LG_BURST];
	unsigned int n = RTE_MIN(lg_window_room(win), LG_BURST), got = n, built = 0;
	uint16_t sent;
	uint64_t now;

	if (n == 0 || rte_pktmbuf_alloc_bulk(p->pool, m, n) != 0)
		return;
	for (unsigned int i = 0; i < got; i++) { /* the burst's keys first, prefetched */
		if (!lg_next(c, &keys[i], &ops[i])) {
			n = i;
			break;
		}
		lg_prefetch(c->w, keys[i]);
	}
	for (; built < n; built++) {
		const size_t hdr = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr);
		char *pkt = rte_pktmbuf_mtod(m[built], char *);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(pkt + hdr);
		char *frame = (char *)(udp + 1);
		uint16_t id = (uint16_t)(win->next + built);
		size_t len;

		len = lg_request(c->w, ops[built], keys[built], frame + 8);
		frame[0] = (char)(id >> 8);
		frame[1] = (char)id;
		memcpy(frame + 2, "\0\0\0\1\0\0", 6);
		len += 8 + sizeof(*udp);
		udp->src_port = rte_cpu_to_be_16(p->src_port);
		udp->dst_port = rte_cpu_to_be_16(p->server_port);
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)len);
		udp->dgram_cksum = 0; /* optional over IPv4 */
		lg_ip_header(p, m[built], IPPROTO_UDP, (uint16_t)len);
		m[built]->data_len = m[built]->pkt_len = (uint32_t)(hdr + len);
	}
	sent = built > 0 ? rte_eth_tx_burst(p->port_id, 0, m, (uint16_t)built) : 0;
	now = lg_now();
	for (uint16_t i = 0; i < sent; i++)
		lg_window_sent(win, keys[i], ops[i], now);
	s->sent += sent;
	c->i -= built - sent;
	rte_pktmbuf_free_bulk(m + sent, got - sent);
}

static void udp_receive(struct lg_port *p, struct lg_window *win, const struct lg_workload *w,
			struct lg_stats *s)
{
	struct rte_mbuf *pkts[LG_BURST];
	unsigned int n = lg_port_rx(p, pkts, LG_BURST);
	uint64_t now = lg_now();
	char scratch[2048];

	for (unsigned int i = 0; i < n; i++) {
		size_t len;
		struct rte_udp_hdr *udp = lg_ip_input(p, pkts[i], IPPROTO_UDP, &len);
		const unsigned char *b;
		size_t off;

		if (udp == NULL || udp->src_port != rte_cpu_to_be_16(p->server_port) ||
		    udp->dst_port != rte_cpu_to_be_16(p->src_port)) {
			s->stray++; /* not ours: e.g. an earlier run's TCP */
			continue;
		}
		if (len < sizeof(*udp) + 8) {
			s->bad++;
			continue;
		}
		len = RTE_MIN(len, (size_t)rte_be_to_cpu_16(udp->dgram_len)) - sizeof(*udp);
		off = (size_t)((char *)(udp + 1) - rte_pktmbuf_mtod(pkts[i], char *));
		if (len > sizeof(scratch)) {
			s->bad++;
			continue;
		}
		b = rte_pktmbuf_read(pkts[i], (uint32_t)off, (uint32_t)len, scratch);
		if (b[2] != 0 || b[3] != 0 || b[4] != 0 || b[5] != 1) {
			s->bad++;
			continue;
		}
		lg_window_reply(win, w, s, (uint16_t)(b[0] << 8 | b[1]), (const char *)b + 8,
				len - 8, now);
	}
	rte_pktmbuf_free_bulk(pkts, n);
}

static void udp_phase(struct lg_port *p, struct lg_window *win, struct lg_cursor *c,
		      struct lg_stats *s, uint64_t end)
{
	for (;;) {
		uint64_t now = lg_now();

		if (now >= end)
			break;
		if (c->preload && c->i >= c->w->keys && win->outstanding == 0)
			break;
		udp_send(p, win, c, s);
		udp_receive(p, win, c->w, s);
		lg_window_expire(win, s, lg_now());
	}
}

int lg_preload_verdict(const struct lg_workload *w, const struct lg_stats *s)
{
	if (s->stored == w->keys && s->bad == 0)
		return 0;
	fprintf(stderr,
		"dpcache-loadgen: preload: %lu of %u keys stored (%lu lost, %lu late, %lu bad "
		"replies)\n",
		(unsigned long)s->stored, w->keys, (unsigned long)s->lost, (unsigned long)s->late,
		(unsigned long)s->bad);
	return -1;
}

static int run_udp(struct lg_port *p, const struct lg_options *o, const struct lg_workload *w,
		   struct lg_stats *s, double *seconds)
{
	struct lg_window *win =
	    lg_window_new(o->window, lg_ticks(o->timeout_ms / 1000), lg_ns_per_tick());
	struct lg_cursor c = {.w = w};
	uint64_t t0;

	if (win == NULL)
		return -1;
	if (o->preload) {
		/* Every key must be stored: a reply late by a preempted moment still counts. */
		uint64_t timeout = win->timeout;

		win->timeout = RTE_MAX(timeout, lg_ticks(5));
		c.preload = true;
		udp_phase(p, win, &c, s, lg_now() + lg_ticks(60));
		win->timeout = timeout;
		if (lg_preload_verdict(w, s) < 0) {
			struct rte_eth_stats es;

			rte_eth_stats_get(p->port_id, &es);
			fprintf(stderr,
				"dpcache-loadgen: port: %lu frames out, %lu in, %lu refused; %lu "
				"requests sent\n",
				(unsigned long)es.opackets, (unsigned long)es.ipackets,
				(unsigned long)es.oerrors, (unsigned long)s->sent);
			free(win);
			return -1;
		}
		c.preload = false;
		c.i = 0;
	}
	udp_phase(p, win, &c, s, lg_now() + lg_ticks(o->warmup));
	lg_stats_reset(s);
	t0 = lg_now();
	udp_phase(p, win, &c, s, t0 + lg_ticks(o->duration));
	*seconds = (double)(lg_now() - t0) / (double)rte_get_tsc_hz();
	free(win);
	return 0;
}

static char eal_runtime_dir[PATH_MAX];

/*
 * The EAL leaves its runtime directory behind; removed once empty, after the
 * telemetry's own exit handler (registered later, so run earlier) took its
 * socket out of it.
 */
static void eal_runtime_dir_remove(void)
{
	if (eal_runtime_dir[0] != '\0')
		rmdir(eal_runtime_dir);
}

/* What lg_memif_close has to undo. */
static bool eal_up, port_up;
static uint16_t port_used;

int lg_run_memif(const struct lg_options *o, const struct lg_workload *w, struct lg_stats *s,
		 double *seconds)
{
	struct lg_port p = {
	    .port_id = o->port_id,
	    .local_ip = o->local_ip,
	    .server_ip = o->server_ip,
	    .server_port = o->server_port,
	    .src_port = o->src_port,
	};

	atexit(eal_runtime_dir_remove);
	if (rte_eal_init(o->eal_argc, o->eal_argv) < 0) {
		fprintf(stderr, "dpcache-loadgen: EAL: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	eal_up = true;
	snprintf(eal_runtime_dir, sizeof(eal_runtime_dir), "%s", rte_eal_get_runtime_dir());
	p.pool = rte_pktmbuf_pool_create("lg_mbufs", NB_MBUFS, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 (int)rte_socket_id());
	if (p.pool == NULL) {
		fprintf(stderr, "dpcache-loadgen: mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (port_start(&p) < 0)
		return -1;
	port_up = true;
	port_used = p.port_id;
	if (o->server_mac_set) {
		memcpy(p.server_mac.addr_bytes, o->server_mac, 6);
		p.server_mac_known = true;
	}
	if (resolve_server(&p) < 0)
		return -1;
	return o->proto == LG_UDP ? run_udp(&p, o, w, s, seconds)
				  : lg_run_tcp(&p, o, w, s, seconds);
}

/*
 * With `linger` > 0, wait (polling nothing but the link state) until the
 * server has closed the memif connection, at most that many seconds, before
 * closing our side. net_memif unmaps a departed peer's memory from the EAL's
 * interrupt thread while the other side's datapath may be polling it: a
 * dpcached whose client leaves mid-poll can crash. Shutting dpcached down
 * first (its workers stop before its port closes) while we only watch the
 * link avoids that on both sides.
 */
void lg_memif_close(double linger)
{
	if (port_up && linger > 0) {
		uint64_t deadline = lg_now() + lg_ticks(linger);
		struct rte_eth_link link;

		while (lg_now() < deadline && rte_eth_link_get_nowait(port_used, &link) == 0 &&
		       link.link_status)
			rte_delay_ms(10);
	}
	if (port_up) {
		rte_eth_dev_stop(port_used);
		rte_eth_dev_close(port_used);
		port_up = false;
	}
	if (eal_up) {
		rte_eal_cleanup();
		eal_up = false;
	}
}
