/*
 * Building segments and deciding what to send.
 *
 * Every segment is a fresh mbuf holding Ethernet, IPv4 and TCP headers. Its
 * payload comes from the connection's send buffer: small payloads are copied
 * after the headers (cheaper than a chain), larger ones are indirect mbufs
 * attached to the buffered data, so a value queued with tcp_send_mbuf() is
 * never copied and retransmissions reuse the same data. The send buffer is
 * only trimmed when data is acknowledged.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>

#include "tcp_internal.h"

#define TCP_TTL 64

/* Position the send cursor at sequence `seq` (inside the buffered data). */
static void cursor_seek(struct tcp_conn *c, uint32_t seq)
{
	struct rte_mbuf *m;
	uint32_t off;

	if (c->cur_m != NULL && c->cur_seq == seq) {
		while (c->cur_off >= c->cur_m->data_len && c->cur_m->next != NULL) {
			c->cur_off -= c->cur_m->data_len;
			c->cur_m = c->cur_m->next;
		}
		return;
	}
	m = c->snd_head;
	off = c->snd_off + (seq - c->snd_una);
	while (m != NULL && off >= m->data_len && m->next != NULL) {
		off -= m->data_len;
		m = m->next;
	}
	c->cur_m = m;
	c->cur_off = off;
	c->cur_seq = seq;
}

/* Append `len` bytes of c's send buffer from sequence `seq` to segment `h`. */
static int attach_payload(struct tcp_worker *w, struct rte_mbuf *h, struct tcp_conn *c,
			  uint32_t seq, uint32_t len)
{
	int copy =
	    (len <= TCP_COPY_MAX || w->cfg.tx_copy_payload) && rte_pktmbuf_tailroom(h) >= len;

	cursor_seek(c, seq);
	while (len > 0) {
		struct rte_mbuf *src = c->cur_m;
		uint32_t piece;

		if (src == NULL)
			return -EINVAL;
		if (c->cur_off >= src->data_len) {
			if (src->next == NULL)
				return -EINVAL;
			c->cur_m = src->next;
			c->cur_off = 0;
			continue;
		}
		piece = RTE_MIN(len, (uint32_t)src->data_len - c->cur_off);
		if (copy) {
			char *dst = rte_pktmbuf_append(h, piece);

			memcpy(dst, rte_pktmbuf_mtod_offset(src, char *, c->cur_off), piece);
		} else {
			struct rte_mbuf *mi = rte_pktmbuf_alloc(w->pool);

			if (mi == NULL)
				return -ENOBUFS;
			rte_pktmbuf_attach(mi, src);
			mi->data_off += c->cur_off;
			mi->data_len = piece;
			mi->pkt_len = piece;
			if (rte_pktmbuf_chain(h, mi) < 0) {
				rte_pktmbuf_free(mi);
				return -EMSGSIZE;
			}
		}
		c->cur_off += piece;
		c->cur_seq += piece;
		len -= piece;
	}
	return 0;
}

/*
 * A frame with a piece of odd length before its last. Some drivers sum each
 * mbuf of a chain on its own (net_tap in DPDK 22.11 adds __rte_raw_cksum of
 * each piece), and DPDK 22.11's rte_raw_cksum_mbuf truncates a piece's sum
 * before swapping it: both are wrong after an odd piece. Replies streamed
 * into mbufs end on any byte, so the send buffer has odd pieces: such frames
 * get their checksum from raw_cksum_chain instead.
 */
static int odd_inner_piece(const struct rte_mbuf *m)
{
	for (; m->next != NULL; m = m->next)
		if (m->data_len & 1)
			return 1;
	return 0;
}

/* The ones' complement sum of `len` bytes from `off` in the chain, any piece lengths. */
static uint16_t raw_cksum_chain(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint32_t sum = 0, done = 0;

	for (; m != NULL && len > 0; m = m->next) {
		uint32_t n, tmp;

		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		n = RTE_MIN(len, (uint32_t)m->data_len - off);
		tmp = __rte_raw_cksum_reduce(
		    __rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const void *, off), n, 0));
		if (done & 1)
			tmp = rte_bswap16((uint16_t)tmp);
		sum += tmp;
		done += n;
		len -= n;
		off = 0;
	}
	return __rte_raw_cksum_reduce(sum);
}

static void fill_checksums(const struct tcp_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
			   struct rte_tcp_hdr *th, uint16_t l4_len)
{
	uint16_t l4_off = sizeof(struct rte_ether_hdr) + sizeof(*ip);

	int odd = odd_inner_piece(m);

	m->l2_len = sizeof(struct rte_ether_hdr);
	m->l3_len = sizeof(*ip);
	m->l4_len = (th->data_off >> 4) * 4;
	if (w->cfg.tx_cksum_offload && !odd) {
		m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
		th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		uint16_t raw = 0;
		uint32_t sum;

		m->ol_flags = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		if (odd)
			raw = raw_cksum_chain(m, l4_off, l4_len);
		else
			rte_raw_cksum_mbuf(m, l4_off, l4_len, &raw);
		sum = (uint32_t)rte_ipv4_phdr_cksum(ip, 0) + raw;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		th->cksum = (uint16_t)~sum;
	}
}

int tcp_emit(struct tcp_worker *w, const struct tcp_peer *p, uint32_t seq, uint32_t ack,
	     uint8_t flags, uint16_t wnd, const uint8_t *opts, uint8_t optlen,
	     struct tcp_conn *payload_conn, uint32_t payload_seq, uint32_t len)
{
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m;
	uint16_t hdr_len = TCP_HDRS_LEN + optlen;

	if (w->tx.n == TCP_TX_MAX) {
		tcp_count(&w->ctr.tx_queue_full, 1);
		return -ENOSPC;
	}
	m = rte_pktmbuf_alloc(w->pool);
	if (m == NULL) {
		tcp_count(&w->ctr.alloc_failed, 1);
		return -ENOBUFS;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, hdr_len);
	if (eth == NULL)
		goto fail;
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	eth->dst_addr = p->mac;
	eth->src_addr = w->cfg.local_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(hdr_len - sizeof(*eth) + len);
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = TCP_TTL;
	ip->next_proto_id = IPPROTO_TCP;
	ip->hdr_checksum = 0;
	ip->src_addr = w->cfg.local_ip;
	ip->dst_addr = p->ip;
	th->src_port = p->lport;
	th->dst_port = p->port;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen > 0)
		memcpy(th + 1, opts, optlen);
	if (len > 0 && attach_payload(w, m, payload_conn, payload_seq, len) < 0) {
		tcp_count(&w->ctr.alloc_failed, 1);
		goto fail;
	}
	fill_checksums(w, m, ip, th, sizeof(*th) + optlen + len);
	w->tx.pkts[w->tx.n++] = m;
	tcp_count(&w->ctr.tx_segments, 1);
	tcp_count(&w->ctr.tx_payload_bytes, len);
	if (flags & TCP_FL_RST)
		tcp_count(&w->ctr.resets_sent, 1);
	return 0;
fail:
	rte_pktmbuf_free(m);
	return -ENOBUFS;
}

/* The window field of a segment of c, and the right edge it promises. */
static uint16_t conn_wnd_field(struct tcp_conn *c)
{
	uint32_t wnd = rcv_window(c);
	uint32_t unit = 1u << c->rcv_wscale;
	uint32_t field = RTE_MIN((wnd + unit - 1) >> c->rcv_wscale, 65535u);
	uint32_t edge = c->rcv_nxt + (field << c->rcv_wscale);

	if (SEQ_GT(edge, c->rcv_adv))
		c->rcv_adv = edge;
	return (uint16_t)field;
}

static void acked_now(struct tcp_conn *c)
{
	c->flags &= ~TCP_CF_ACK_NOW;
	c->delack_at = 0;
}

/* The options of every segment of c after the handshake: timestamps or none. */
static uint8_t conn_options(const struct tcp_conn *c, uint8_t *o)
{
	if (!(c->flags2 & TCP_CF2_TS))
		return 0;
	return ts_option(o, ts_clock(c->w, c->ts_off), c->ts_recent);
}

static int conn_emit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len)
{
	struct tcp_peer p = conn_peer(c);
	uint8_t opts[TCP_TSOPT_LEN];
	uint8_t optlen = conn_options(c, opts);
	int rc = tcp_emit(c->w, &p, seq, c->rcv_nxt, flags, conn_wnd_field(c), opts, optlen, c, seq,
			  len);

	if (rc == 0 && (flags & TCP_FL_ACK)) {
		acked_now(c);
		c->last_ack_sent = c->rcv_nxt;
	}
	return rc;
}

int conn_send_ack(struct tcp_conn *c)
{
	int rc = conn_emit(c, c->snd_nxt, TCP_FL_ACK, 0);

	if (rc < 0) {
		c->flags |= TCP_CF_ACK_NOW;
		conn_mark_pending(c);
	}
	return rc;
}

int conn_send_probe(struct tcp_conn *c)
{
	return conn_emit(c, c->snd_una - 1, TCP_FL_ACK, 0);
}

int conn_send_rst(struct tcp_conn *c)
{
	struct tcp_peer p = conn_peer(c);
	uint8_t opts[TCP_TSOPT_LEN];
	uint8_t optlen = conn_options(c, opts);

	return tcp_emit(c->w, &p, c->snd_nxt, c->rcv_nxt, TCP_FL_RST | TCP_FL_ACK, 0, opts, optlen,
			NULL, 0, 0);
}

#define SYN_OPTS_MAX (8 + TCP_TSOPT_LEN)

/* MSS, window scale (wscale >= 0) and timestamps (ts_ecr: the TSval to echo, NULL: none). */
static uint8_t syn_options(uint8_t *o, uint16_t mss, int wscale, uint32_t ts_val,
			   const uint32_t *ts_ecr)
{
	uint8_t n = 4;

	o[0] = 2; /* MSS */
	o[1] = 4;
	o[2] = (uint8_t)(mss >> 8);
	o[3] = (uint8_t)mss;
	if (wscale >= 0) {
		o[4] = 1; /* NOP */
		o[5] = 3; /* window scale */
		o[6] = 3;
		o[7] = (uint8_t)wscale;
		n = 8;
	}
	if (ts_ecr != NULL)
		n += ts_option(o + n, ts_val, *ts_ecr);
	return n;
}

/* The window of a SYN-ACK is never scaled (RFC 7323 2.2). */
static uint16_t syn_window(const struct tcp_worker *w)
{
	return (uint16_t)RTE_MIN(w->cfg.rcv_buf, 65535u);
}

int conn_send_synack(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;
	struct tcp_peer p = conn_peer(c);
	uint8_t opts[SYN_OPTS_MAX];
	uint8_t n =
	    syn_options(opts, w->cfg.mss, (c->flags2 & TCP_CF2_WSCALE) ? c->rcv_wscale : -1,
			ts_clock(w, c->ts_off), (c->flags2 & TCP_CF2_TS) ? &c->ts_recent : NULL);

	c->rcv_adv = c->rcv_nxt + syn_window(w);
	c->last_ack_sent = c->rcv_nxt;
	return tcp_emit(w, &p, c->iss, c->rcv_nxt, TCP_FL_SYN | TCP_FL_ACK, syn_window(w), opts, n,
			NULL, 0, 0);
}

/*
 * A cookie SYN-ACK offers no window scaling: the cookie has no room to
 * remember it. It echoes timestamps when the SYN had them: the peer's ACK
 * then carries them too, which is all the connection needs to know.
 */
int send_cookie_synack(struct tcp_worker *w, const struct tcp_seg *s, uint32_t iss)
{
	struct tcp_peer p = {.ip = s->ip->src_addr,
			     .port = s->th->src_port,
			     .lport = s->th->dst_port,
			     .mac = s->eth->src_addr};
	uint8_t opts[SYN_OPTS_MAX];
	uint8_t n = syn_options(opts, w->cfg.mss, -1, ts_clock(w, ts_offset(w, p.ip, p.port)),
				s->has_ts ? &s->ts_val : NULL);

	return tcp_emit(w, &p, iss, s->seq + 1, TCP_FL_SYN | TCP_FL_ACK, syn_window(w), opts, n,
			NULL, 0, 0);
}

/* RFC 9293 3.10.7.1: the reset for a segment that belongs to no connection. */
void reply_rst(struct tcp_worker *w, const struct tcp_seg *s)
{
	struct tcp_peer p = {.ip = s->ip->src_addr,
			     .port = s->th->src_port,
			     .lport = s->th->dst_port,
			     .mac = s->eth->src_addr};

	if (s->flags & TCP_FL_RST)
		return;
	if (s->flags & TCP_FL_ACK)
		tcp_emit(w, &p, s->ack, 0, TCP_FL_RST, 0, NULL, 0, NULL, 0, 0);
	else
		tcp_emit(w, &p, 0, s->seq + seg_seqlen(s), TCP_FL_RST | TCP_FL_ACK, 0, NULL, 0,
			 NULL, 0, 0);
}

static int fin_sent(const struct tcp_conn *c)
{
	return (c->flags & TCP_CF_FIN_QUEUED) && SEQ_GT(c->snd_max, sendq_fin_seq(c));
}

/*
 * Send one segment from `seq` (a retransmission when below snd_max) of at
 * most one MSS, ignoring the windows: fast retransmit and RTO use it.
 */
int conn_retransmit_una(struct tcp_conn *c)
{
	uint32_t len;
	uint8_t flags = TCP_FL_ACK;
	int rc;

	if (c->flags2 & TCP_CF2_FIN_ACKED)
		return 0;
	len = RTE_MIN(c->snd_bytes, (uint32_t)c->mss);
	if ((c->flags & TCP_CF_FIN_QUEUED) && len == c->snd_bytes && fin_sent(c))
		flags |= TCP_FL_FIN;
	if (len == 0 && !(flags & TCP_FL_FIN))
		return 0;
	if (len > 0 && len == c->snd_bytes)
		flags |= TCP_FL_PSH;
	rc = conn_emit(c, c->snd_una, flags, len);
	if (rc == 0) {
		tcp_count(&c->w->ctr.retransmits, 1);
		if (SEQ_GT(c->snd_una + len + !!(flags & TCP_FL_FIN), c->snd_nxt))
			c->snd_nxt = c->snd_una + len + !!(flags & TCP_FL_FIN);
	}
	return rc;
}

/*
 * Send what the windows allow: new data, data to resend after a timeout
 * (snd_nxt was pulled back to snd_una), the FIN, or at least the ACK owed.
 * Sender silly-window avoidance: a segment shorter than the MSS only goes
 * when it is the last of the data or the window is at least half open.
 */
static void output(struct tcp_conn *c, int force)
{
	struct tcp_worker *w = c->w;
	uint32_t unsent = 0;

	if (c->state == TCP_CLOSED || c->state == TCP_SYN_RECEIVED)
		return;
	for (;;) {
		uint32_t sent = c->snd_nxt - c->snd_una;
		uint32_t wnd = RTE_MIN(c->snd_wnd, c->cwnd);
		uint32_t usable = wnd > sent ? wnd - sent : 0;
		uint32_t len;
		int fin, rexmit;
		uint8_t flags = TCP_FL_ACK;

		if (sent > c->snd_bytes || (c->flags2 & TCP_CF2_FIN_ACKED)) {
			unsent = 0;
			break; /* the FIN is out */
		}
		unsent = c->snd_bytes - sent;
		len = RTE_MIN(RTE_MIN(unsent, (uint32_t)c->mss), usable);
		fin = (c->flags & TCP_CF_FIN_QUEUED) && len == unsent;
		if (len == 0 && !fin)
			break;
		if (!force && len > 0 && len < unsent && len < c->mss &&
		    usable < c->max_snd_wnd / 2)
			break;
		if (len > 0 && len == unsent)
			flags |= TCP_FL_PSH;
		if (fin)
			flags |= TCP_FL_FIN;
		rexmit = SEQ_LT(c->snd_nxt, c->snd_max);
		if (conn_emit(c, c->snd_nxt, flags, len) < 0) {
			conn_mark_pending(c);
			break;
		}
		if (rexmit) {
			tcp_count(&w->ctr.retransmits, 1);
		} else if (!(c->flags2 & TCP_CF2_RTT) && len > 0) {
			c->flags2 |= TCP_CF2_RTT;
			c->rtt_seq = c->snd_nxt;
			c->rtt_start_us = w->now_us;
		}
		c->snd_nxt += len + fin;
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (c->rto_at == 0)
			conn_rto_arm(c);
		if (fin)
			break;
	}
	if (c->flags & TCP_CF_ACK_NOW)
		conn_send_ack(c);
	/*
	 * Data waits with nothing in flight, so no ACK will come: behind a shut
	 * window (probe it) or a window too small to be worth it (RFC 1122
	 * 4.2.3.4: send what it allows when the timer fires).
	 */
	if (unsent > 0 && c->snd_una == c->snd_max && c->persist_at == 0) {
		uint64_t ivl = (uint64_t)RTE_MAX(c->rto_us, w->cfg.rto_min_us)
			       << c->persist_backoff;

		c->persist_at = w->now_us + RTE_MIN(ivl, (uint64_t)w->cfg.rto_max_us);
		conn_timer_arm(c, c->persist_at);
	}
}

void conn_output(struct tcp_conn *c)
{
	output(c, 0);
}

void conn_output_force(struct tcp_conn *c)
{
	output(c, 1);
}

unsigned int tcp_tx_drain(struct tcp_worker *w, void (*send)(void *arg, struct rte_mbuf *m),
			  void *arg)
{
	unsigned int total = 0;

	for (int round = 0; round < 8; round++) {
		struct tcp_conn *list = w->pend_head;

		w->pend_head = NULL;
		while (list != NULL) {
			struct tcp_conn *c = list;

			list = c->pend_next;
			c->pend_next = NULL;
			c->flags &= ~TCP_CF_PENDING;
			if (w->tx.n == TCP_TX_MAX) {
				conn_mark_pending(c);
				continue;
			}
			conn_output(c);
		}
		for (uint16_t i = 0; i < w->tx.n; i++)
			send(arg, w->tx.pkts[i]);
		total += w->tx.n;
		w->tx.n = 0;
		if (w->pend_head == NULL)
			break;
	}
	return total;
}
