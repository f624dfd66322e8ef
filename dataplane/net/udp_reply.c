#include "udp_reply.h"

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#define UDP_REPLY_HDRS                                                                             \
	(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) + \
	 UDP_FRAME_HDR_LEN)

void udp_reply_begin(struct udp_reply *r, struct rte_mempool *pool)
{
	r->pool = pool;
	r->n = 0;
	r->used = 0;
	r->error = 0;
	r->bytes = 0;
}

static int reply_fail(struct udp_reply *r, int error)
{
	if (r->error == 0)
		r->error = error;
	return r->error;
}

/* Open the next datagram: headers reserved, payload empty. */
static int next_dgram(struct udp_reply *r)
{
	struct rte_mbuf *m;

	if (r->n == UDP_REPLY_MAX_DGRAMS)
		return reply_fail(r, -EMSGSIZE);
	m = rte_pktmbuf_alloc(r->pool);
	if (m == NULL)
		return reply_fail(r, -ENOBUFS);
	if (rte_pktmbuf_append(m, UDP_REPLY_HDRS) == NULL) {
		rte_pktmbuf_free(m);
		return reply_fail(r, -ENOBUFS);
	}
	r->dgrams[r->n++] = m;
	r->used = 0;
	return 0;
}

int udp_reply_write(struct udp_reply *r, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (r->error != 0)
		return r->error;
	while (len > 0) {
		struct rte_mbuf *m;
		size_t chunk;
		char *dst;

		if ((r->n == 0 || r->used == UDP_REPLY_PAYLOAD_MAX) && next_dgram(r) < 0)
			return r->error;
		m = r->dgrams[r->n - 1];
		chunk = RTE_MIN(len, (size_t)(UDP_REPLY_PAYLOAD_MAX - r->used));
		dst = rte_pktmbuf_append(m, chunk);
		if (dst == NULL) /* the pool's buffers are too small for a datagram */
			return reply_fail(r, -ENOBUFS);
		memcpy(dst, p, chunk);
		r->used += chunk;
		r->bytes += chunk;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

static void fill_headers(struct rte_mbuf *m, const struct net_iface *ifc,
			 const struct udp_dgram *req, uint16_t request_id, uint16_t seq,
			 uint16_t total, int offload)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t *frame = (uint16_t *)(udp + 1);
	uint16_t ip_len = rte_pktmbuf_pkt_len(m) - sizeof(*eth);

	eth->dst_addr = req->eth->src_addr;
	eth->src_addr = ifc->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->packet_id = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = ifc->ip;
	ip->dst_addr = req->ip->src_addr;
	udp->src_port = req->udp->dst_port;
	udp->dst_port = req->udp->src_port;
	udp->dgram_len = rte_cpu_to_be_16(ip_len - sizeof(*ip));
	udp->dgram_cksum = 0;
	frame[0] = rte_cpu_to_be_16(request_id);
	frame[1] = rte_cpu_to_be_16(seq);
	frame[2] = rte_cpu_to_be_16(total);
	frame[3] = 0;

	m->l2_len = sizeof(*eth);
	m->l3_len = sizeof(*ip);
	if (offload) {
		m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		m->ol_flags = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	}
}

int udp_reply_finish(struct udp_reply *r, const struct net_iface *ifc, const struct udp_dgram *req,
		     uint16_t request_id, int offload)
{
	if (r->error == 0 && r->n == 0)
		next_dgram(r); /* an empty reply is still one datagram */
	if (r->error != 0) {
		int error = r->error;

		udp_reply_abort(r);
		return error;
	}
	for (uint16_t i = 0; i < r->n; i++)
		fill_headers(r->dgrams[i], ifc, req, request_id, i, r->n, offload);
	return r->n;
}

void udp_reply_abort(struct udp_reply *r)
{
	if (r->n > 0)
		rte_pktmbuf_free_bulk(r->dgrams, r->n);
	r->n = 0;
	r->used = 0;
}
