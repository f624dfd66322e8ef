#include "udp_reply.h"

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "cksum.h"

_Static_assert(UDP_REPLY_PAD == NET_CKSUM_PAD, "the reply pads payloads as the checksum wants");

static int reply_fail(struct udp_reply *r, int error)
{
	if (r->error == 0)
		r->error = error;
	r->room = 0; /* every later write takes the slow path and sees the error */
	return r->error;
}

/*
 * The next free mbuf. Taking them from the pool UDP_REPLY_STASH at a time
 * costs about half as much per mbuf as one by one; a pool nearly empty still
 * gives what it has, one at a time.
 */
static struct rte_mbuf *take_mbuf(struct udp_reply *r)
{
	if (likely(r->nstash > 0))
		return r->stash[--r->nstash];
	if (rte_pktmbuf_alloc_bulk(r->pool, r->stash, UDP_REPLY_STASH) == 0) {
		r->nstash = UDP_REPLY_STASH - 1;
		return r->stash[UDP_REPLY_STASH - 1];
	}
	return rte_pktmbuf_alloc(r->pool);
}

/* Open the next datagram: headers reserved, payload empty. */
static int next_dgram(struct udp_reply *r)
{
	struct rte_mbuf *m;

	if (r->error != 0)
		return r->error;
	if (r->n == UDP_REPLY_MAX_DGRAMS)
		return reply_fail(r, -EMSGSIZE);
	m = take_mbuf(r);
	if (m == NULL)
		return reply_fail(r, -ENOBUFS);
	if (!udp_reply_fits(m)) {
		/* the pool's buffers are too small for a datagram (and the
		 * checksum's zero padding) */
		rte_pktmbuf_free(m);
		return reply_fail(r, -ENOBUFS);
	}
	r->dgrams[r->n++] = m;
	r->pos = rte_pktmbuf_mtod_offset(m, char *, UDP_REPLY_HDRS);
	r->room = UDP_REPLY_PAYLOAD_MAX;
	return 0;
}

int udp_reply_write_split(struct udp_reply *r, const void *data, size_t len)
{
	const char *p = data;

	if (r->error != 0)
		return r->error;
	while (len > 0) {
		size_t chunk;

		if (r->room == 0 && next_dgram(r) < 0)
			return r->error;
		chunk = RTE_MIN(len, (size_t)r->room);
		memcpy(r->pos, p, chunk);
		r->pos += chunk;
		r->room -= (uint32_t)chunk;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

void udp_reply_rewind_dgrams(struct udp_reply *r, uint16_t n)
{
	if (r->n > n) {
		rte_pktmbuf_free_bulk(&r->dgrams[n], r->n - n);
		r->n = n;
	}
}

/*
 * The template: Ethernet source and type, the IPv4 header's fixed fields and
 * our address, and the sums of what never changes: the IPv4 header's fixed
 * words (for its checksum) and our address plus the protocol (for the UDP
 * pseudo header). Built once per interface.
 */
static void build_template(struct udp_reply *r, const struct net_iface *ifc)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)r->tmpl;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t proto = rte_cpu_to_be_16(IPPROTO_UDP);

	memset(r->tmpl, 0, sizeof(r->tmpl));
	eth->src_addr = ifc->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = ifc->ip;
	r->tmpl_ip_sum = net_cksum_add(0, ip, sizeof(*ip));
	r->tmpl_ph_sum = net_cksum_add(0, &ifc->ip, 4) + proto;
	r->tmpl_ifc = ifc;
}

/* What the datagrams of one reply share, worked out once. */
struct reply_hdrs {
	struct rte_ether_addr dst_mac;
	uint32_t dst_ip;
	uint16_t src_port, dst_port;
	uint16_t req_id, count; /* frame header fields */
	uint64_t ip_sum;     /* the IPv4 header's sum but for its length */
	uint64_t udp_sum;    /* pseudo header, ports and frame header but for lengths and seq */
};

/* Headers and checksums of datagram `seq` with `payload` bytes. */
static inline __attribute__((always_inline)) void
fill_dgram(const struct udp_reply *r, struct rte_mbuf *m, const struct reply_hdrs *rh,
	   uint32_t payload, uint16_t seq, int offload)
{
	uint8_t *h = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)h;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t *frame = (uint16_t *)(udp + 1);
	uint16_t udp_len = rte_cpu_to_be_16(sizeof(*udp) + UDP_FRAME_HDR_LEN + payload);
	uint16_t ip_len =
	    rte_cpu_to_be_16(sizeof(*ip) + sizeof(*udp) + UDP_FRAME_HDR_LEN + payload);

	memcpy(h, r->tmpl, sizeof(r->tmpl)); /* up to the frame header's middle */
	eth->dst_addr = rh->dst_mac;
	ip->total_length = ip_len;
	ip->dst_addr = rh->dst_ip;
	udp->src_port = rh->src_port;
	udp->dst_port = rh->dst_port;
	udp->dgram_len = udp_len;
	proto_udp_put_reply_hdr(frame, rh->req_id, seq, rh->count);
	m->data_len = (uint16_t)(UDP_REPLY_HDRS + payload);
	m->pkt_len = UDP_REPLY_HDRS + payload;
	if (offload) {
		m->l2_len = sizeof(*eth);
		m->l3_len = sizeof(*ip);
		m->ol_flags =
		    RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		return;
	}
	ip->hdr_checksum = (uint16_t)~net_cksum_fold(rh->ip_sum + ip_len);
	/* the UDP length counts twice: pseudo header and UDP header */
	memset((uint8_t *)(frame + 4) + payload, 0, NET_CKSUM_PAD);
	udp->dgram_cksum = (uint16_t)~net_cksum_fold(net_cksum_add_padded(
	    rh->udp_sum + udp_len + udp_len + rte_cpu_to_be_16(seq), frame + 4, payload));
	if (udp->dgram_cksum == 0)
		udp->dgram_cksum = 0xffff;
}

int udp_reply_finish(struct udp_reply *r, const struct net_iface *ifc, const struct udp_dgram *req,
		     uint16_t request_id, int offload)
{
	struct reply_hdrs rh;
	uint32_t last;

	/* the request first: it may lie in the first datagram's mbuf */
	rh.dst_mac = req->eth->src_addr;
	rh.dst_ip = req->ip->src_addr;
	rh.src_port = req->udp->dst_port;
	rh.dst_port = req->udp->src_port;
	if (r->error == 0 && r->n == 0)
		next_dgram(r); /* an empty reply is still one datagram */
	if (r->error != 0) {
		int error = r->error;

		udp_reply_abort(r);
		return error;
	}
	if (unlikely(r->tmpl_ifc != ifc))
		build_template(r, ifc);
	last = UDP_REPLY_PAYLOAD_MAX - r->room;
	rh.req_id = request_id;
	rh.count = r->n;
	/*
	 * Summed once for all datagrams: the peer's address (in both headers'
	 * sums), the ports, the frame header's request id and count. Each
	 * datagram adds its lengths, its sequence number and its payload.
	 */
	rh.ip_sum = r->tmpl_ip_sum + (rh.dst_ip & 0xffff) + (rh.dst_ip >> 16);
	rh.udp_sum = r->tmpl_ph_sum + (rh.dst_ip & 0xffff) + (rh.dst_ip >> 16) + rh.src_port +
		     rh.dst_port + rte_cpu_to_be_16(rh.req_id) + rte_cpu_to_be_16(rh.count);
	if (likely(r->n == 1)) {
		fill_dgram(r, r->dgrams[0], &rh, last, 0, offload);
		return 1;
	}
	for (uint16_t i = 0; i < r->n; i++)
		fill_dgram(r, r->dgrams[i], &rh, i + 1 < r->n ? UDP_REPLY_PAYLOAD_MAX : last, i,
			   offload);
	return r->n;
}

void udp_reply_release(struct udp_reply *r)
{
	if (r->nstash > 0)
		rte_pktmbuf_free_bulk(r->stash, r->nstash);
	r->nstash = 0;
}

void udp_reply_abort(struct udp_reply *r)
{
	if (r->n > 0)
		rte_pktmbuf_free_bulk(r->dgrams, r->n);
	r->n = 0;
	r->room = 0;
	r->pos = NULL;
}
