/*
 * Segment arrival (RFC 9293 3.10.7), for a server: LISTEN is implicit (the
 * configured port), connections start in SYN-RECEIVED, and the checks run in
 * the RFC's order: sequence acceptability, RST, SYN, ACK, data, FIN. RST and
 * SYN in a synchronized state follow RFC 5961 (exact RST resets, anything
 * else in the window earns a challenge ACK).
 *
 * Received payload stays in the mbuf it came in (headers cut off with
 * rte_pktmbuf_adj); small in-order segments are copied into the tail of the
 * previous one instead, so a stream of small requests does not hold one mbuf
 * each. Segments beyond rcv_nxt are kept in a sorted list, trimmed against
 * their neighbours so the list never overlaps, and moved over when the hole
 * before them fills.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_jhash.h>

#include "../net/cksum.h"
#include "tcp_internal.h"

/* Where a segment's payload starts in its mbuf. */
static inline uint32_t payload_off(const struct tcp_seg *s)
{
	return (uint32_t)((const uint8_t *)s->th - rte_pktmbuf_mtod(s->m, const uint8_t *)) +
	       ((s->th->data_off >> 4) * 4u);
}

static inline uint32_t mseq(const struct rte_mbuf *m)
{
	return m->hash.usr;
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* MSS and window scale count on a SYN only; timestamps on any segment. */
static void parse_options(struct tcp_seg *s)
{
	const uint8_t *o = (const uint8_t *)(s->th + 1);
	uint32_t n = (s->th->data_off >> 4) * 4u - sizeof(*s->th);
	int syn = !!(s->flags & TCP_FL_SYN);

	/* RFC 7323 appendix A: NOP, NOP, timestamps alone is the usual layout. */
	if (!syn && n == TCP_TSOPT_LEN && o[0] == 1 && o[1] == 1 && o[2] == 8 && o[3] == 10) {
		s->has_ts = 1;
		s->ts_val = get_be32(o + 4);
		s->ts_ecr = get_be32(o + 8);
		return;
	}
	while (n > 0) {
		uint8_t kind = o[0], len;

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			n--;
			continue;
		}
		if (n < 2 || o[1] < 2 || o[1] > n)
			break;
		len = o[1];
		if (kind == 2 && len == 4 && syn) {
			s->opt_mss = (uint16_t)((o[2] << 8) | o[3]);
		} else if (kind == 3 && len == 3 && syn) {
			s->opt_wscale = (int8_t)RTE_MIN(o[2], TCP_MAX_WSCALE);
		} else if (kind == 8 && len == 10) {
			s->has_ts = 1;
			s->ts_val = get_be32(o + 2);
			s->ts_ecr = get_be32(o + 6);
		}
		o += len;
		n -= len;
	}
}

/*
 * The segment's checksum verifies. In software: 32 bytes a step with the
 * mbuf's tailroom zeroed up to the next step when it has the room, as the
 * UDP path sums (net/cksum.h); the zeros lie past the frame.
 */
static int cksum_ok(struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, const void *th,
		    uint32_t tcp_len)
{
	uint64_t sum = rte_ipv4_phdr_cksum(ip, 0);
	uint8_t *end = (uint8_t *)(uintptr_t)th + tcp_len;
	uint32_t pad = (NET_CKSUM_PAD - tcp_len % NET_CKSUM_PAD) % NET_CKSUM_PAD;

	if (end + pad <= (uint8_t *)m->buf_addr + m->buf_len) {
		memset(end, 0, pad);
		sum = net_cksum_add_padded(sum, th, tcp_len);
	} else {
		sum = net_cksum_add(sum, th, tcp_len);
	}
	return net_cksum_fold(sum) == 0xffff;
}

/* Lengths, checksum; fills s. Returns 0, or -1 after counting the drop. */
static int parse_segment(struct tcp_worker *w, struct rte_mbuf *m, struct tcp_seg *s)
{
	uint32_t ihl, ip_len, doff, tcp_len;
	uint64_t l4cs;

	memset(s, 0, sizeof(*s));
	s->m = m;
	s->opt_wscale = -1;
	if (m->nb_segs != 1) {
		tcp_count(&w->ctr.drop_multi_segment, 1);
		return -1;
	}
	if (m->data_len < TCP_HDRS_LEN)
		goto malformed;
	s->eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	s->ip = (const struct rte_ipv4_hdr *)(s->eth + 1);
	ihl = (s->ip->version_ihl & 0xf) * 4u;
	ip_len = rte_be_to_cpu_16(s->ip->total_length);
	if (ihl < sizeof(*s->ip) || sizeof(*s->eth) + ip_len > m->data_len ||
	    ip_len < ihl + sizeof(*s->th))
		goto malformed;
	s->th = (const struct rte_tcp_hdr *)((const uint8_t *)s->ip + ihl);
	doff = (s->th->data_off >> 4) * 4u;
	tcp_len = ip_len - ihl;
	if (doff < sizeof(*s->th) || doff > tcp_len)
		goto malformed;

	l4cs = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (w->cfg.rx_cksum_offload && l4cs == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		goto bad_cksum;
	if ((!w->cfg.rx_cksum_offload || l4cs != RTE_MBUF_F_RX_L4_CKSUM_GOOD) &&
	    !cksum_ok(m, s->ip, s->th, tcp_len))
		goto bad_cksum;
	s->seq = rte_be_to_cpu_32(s->th->sent_seq);
	s->ack = rte_be_to_cpu_32(s->th->recv_ack);
	s->wnd = rte_be_to_cpu_16(s->th->rx_win);
	s->flags = s->th->tcp_flags & 0x3f;
	s->len = tcp_len - doff;
	if (doff > sizeof(*s->th))
		parse_options(s);
	return 0;
malformed:
	tcp_count(&w->ctr.drop_malformed, 1);
	return -1;
bad_cksum:
	tcp_count(&w->ctr.drop_bad_checksum, 1);
	return -1;
}

/* RFC 6528: a clock plus a keyed hash of the connection's addresses. */
static uint32_t isn_make(const struct tcp_worker *w, const struct tcp_seg *s)
{
	uint32_t k[3] = {s->ip->src_addr, s->ip->dst_addr,
			 ((uint32_t)s->th->src_port << 16) | s->th->dst_port};

	return (uint32_t)(w->now_us / 4) + rte_jhash_32b(k, 3, w->cfg.cookie_secret[2]);
}

static void conn_init_send(struct tcp_conn *c, uint32_t iss, uint16_t peer_mss)
{
	const struct tcp_config *cfg = &c->w->cfg;

	c->iss = iss;
	c->snd_una = iss;
	c->snd_nxt = c->snd_max = iss + 1;
	/* Both MSS options exclude TCP options: the timestamps come off the payload. */
	c->mss = RTE_MIN(peer_mss, cfg->mss) - ((c->flags2 & TCP_CF2_TS) ? TCP_TSOPT_LEN : 0);
	/* RFC 6928 initial window; RFC 5681 initial ssthresh "arbitrarily high". */
	c->cwnd = RTE_MIN(10u * c->mss, RTE_MAX(2u * c->mss, 14600u));
	c->ssthresh = UINT32_MAX / 2;
}

/* Timestamps agreed on the handshake (the SYN, or a cookie's ACK, carried them). */
static void conn_init_ts(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (!s->has_ts)
		return;
	c->flags2 |= TCP_CF2_TS;
	c->ts_off = ts_offset(c->w, c->rip, c->rport);
	c->ts_recent = s->ts_val;
	c->ts_recent_us = c->w->now_us;
}

/* RFC 7323 5.5: after 24 days without an update TS.Recent is no longer valid. */
static int ts_recent_stale(const struct tcp_conn *c)
{
	return c->w->now_us - c->ts_recent_us > TCP_PAWS_IDLE_US;
}

/*
 * A pure duplicate ACK overtaken by a newer segment (Linux's
 * tcp_disordered_ack): at rcv_nxt, acknowledging snd_una, leaving the window
 * as it is, and older than ts_recent by at most one RTO. It can change
 * nothing but the duplicate-ACK count, and dropping it would cost the fast
 * retransmit it may be part of.
 */
static int paws_disordered_ack(const struct tcp_conn *c, const struct tcp_seg *s)
{
	return (s->flags & (TCP_FL_SYN | TCP_FL_FIN | TCP_FL_ACK)) == TCP_FL_ACK && s->len == 0 &&
	       s->seq == c->rcv_nxt && s->ack == c->snd_una &&
	       (s->wnd << c->snd_wscale) == c->snd_wnd &&
	       c->ts_recent - s->ts_val <= RTE_MAX(c->rto_us / 1000, 1u);
}

/*
 * RFC 7323 5.3 R1 (PAWS): a segment whose TSval is older than ts_recent is a
 * duplicate from an earlier pass of the sequence space: dropped before any
 * other check. Never an RST (RFC 7323 5.2 and 3.2: acceptable whatever its
 * timestamp), nor a segment without the option, nor anything once
 * ts_recent is stale. A dropped segment that occupies sequence space is
 * answered with an ACK (as an out-of-window one is); a pure ACK is not
 * (an ACK to an ACK tells the peer nothing; Linux, too, has stopped
 * answering old ACKs), nor anything before the handshake completed.
 * Returns -1 when the segment is dropped.
 */
static int paws_check(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (!(c->flags2 & TCP_CF2_TS) || !s->has_ts || (s->flags & TCP_FL_RST) ||
	    SEQ_GEQ(s->ts_val, c->ts_recent) || ts_recent_stale(c) || paws_disordered_ack(c, s))
		return 0;
	tcp_count(&c->w->ctr.drop_paws, 1);
	if (seg_seqlen(s) > 0 && c->state != TCP_SYN_RECEIVED)
		conn_send_ack(c);
	return -1;
}

/*
 * RFC 7323 4.3 and 5.3 R3: an acceptable segment's TSval becomes ts_recent
 * when it is not older (or ts_recent is stale) and the segment starts at or
 * before the ACK we last sent, so the echo times the oldest segment an ACK
 * covers (delayed ACKs included) and, after a hole, the segment that filled it.
 */
static void ts_update(struct tcp_conn *c, const struct tcp_seg *s)
{
	if ((c->flags2 & TCP_CF2_TS) && s->has_ts && SEQ_LEQ(s->seq, c->last_ack_sent) &&
	    (SEQ_GEQ(s->ts_val, c->ts_recent) || ts_recent_stale(c))) {
		c->ts_recent = s->ts_val;
		c->ts_recent_us = c->w->now_us;
	}
}

/*
 * The round trip an ACK's TSecr measures, in µs (millisecond resolution);
 * -1 when there is none or the echo is not one of ours (in the future, or
 * older than the longest RTO).
 */
static int ts_rtt(const struct tcp_conn *c, const struct tcp_seg *s, uint32_t *rtt_us)
{
	uint32_t ms;

	if (!(c->flags2 & TCP_CF2_TS) || !s->has_ts)
		return -1;
	ms = ts_clock(c->w, c->ts_off) - s->ts_ecr;
	if ((int32_t)ms < 0 || (uint64_t)ms * 1000 > c->w->cfg.rto_max_us)
		return -1;
	*rtt_us = ms * 1000;
	return 0;
}

static void listen_syn(struct tcp_worker *w, struct tcp_seg *s)
{
	struct tcp_conn *c;
	uint16_t mss;

	if (w->nfree == 0) {
		tcp_count(&w->ctr.rejected_connections, 1);
		reply_rst(w, s);
		return;
	}
	if (tcp_counter_read(&w->ctr.half_open) >= w->cfg.syn_backlog) {
		uint32_t iss = cookie_make(w, s, &mss);

		if (send_cookie_synack(w, s, iss) == 0)
			tcp_count(&w->ctr.syn_cookies_sent, 1);
		return;
	}
	c = conn_alloc(w, s);
	c->state = TCP_SYN_RECEIVED;
	tcp_count(&w->ctr.half_open, 1);
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	conn_init_ts(c, s);
	conn_init_send(c, isn_make(w, s), s->opt_mss ? s->opt_mss : TCP_DEFAULT_PEER_MSS);
	if (s->opt_wscale >= 0) {
		c->flags2 |= TCP_CF2_WSCALE;
		c->snd_wscale = (uint8_t)s->opt_wscale;
		c->rcv_wscale = w->rcv_wscale;
	}
	c->snd_wnd = c->max_snd_wnd = s->wnd; /* never scaled in a SYN */
	c->snd_wl1 = s->seq;
	c->flags2 |= TCP_CF2_RTT;
	c->rtt_start_us = w->now_us;
	conn_send_synack(c);
	conn_rto_arm(c);
}

/* An ACK for no connection: the third step of a handshake answered with a cookie? */
static struct tcp_conn *listen_cookie_ack(struct tcp_worker *w, struct tcp_seg *s)
{
	struct tcp_conn *c;
	uint16_t mss;

	if (cookie_check(w, s, &mss) < 0) {
		tcp_count(&w->ctr.syn_cookies_bad, 1);
		reply_rst(w, s);
		return NULL;
	}
	if (w->nfree == 0) {
		tcp_count(&w->ctr.rejected_connections, 1);
		reply_rst(w, s);
		return NULL;
	}
	tcp_count(&w->ctr.syn_cookies_ok, 1);
	c = conn_alloc(w, s);
	c->state = TCP_SYN_RECEIVED;
	tcp_count(&w->ctr.half_open, 1);
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->rcv_adv = c->rcv_nxt + RTE_MIN(w->cfg.rcv_buf, 65535u);
	c->last_ack_sent = c->rcv_nxt;
	/* The peer sends timestamps only if our SYN-ACK did: only if its SYN had them. */
	conn_init_ts(c, s);
	conn_init_send(c, s->ack - 1, mss);
	c->snd_wl1 = s->seq;
	return c;
}

static void listen_input(struct tcp_worker *w, struct tcp_seg *s);
static void conn_input(struct tcp_conn *c, struct tcp_seg *s);

static void tw_input(struct tcp_worker *w, struct tcp_tw *tw, struct tcp_seg *s)
{
	struct tcp_peer p = {.ip = tw->rip,
			     .port = tw->rport,
			     .lport = rte_cpu_to_be_16(w->cfg.port),
			     .mac = tw->peer_mac};

	if (s->flags & TCP_FL_RST)
		return; /* RFC 1337: no TIME-WAIT assassination */
	if ((s->flags & (TCP_FL_SYN | TCP_FL_ACK)) == TCP_FL_SYN) {
		/* A new incarnation (RFC 9293 3.6.1), or a newer timestamp (RFC 6191). */
		if (SEQ_GT(s->seq, tw->rcv_nxt) ||
		    (tw->ts_ok && s->has_ts && SEQ_GT(s->ts_val, tw->ts_recent))) {
			tw_remove(w, tw);
			listen_input(w, s);
		}
		return;
	}
	if (s->len > 0 || (s->flags & (TCP_FL_FIN | TCP_FL_SYN))) {
		uint8_t opts[TCP_TSOPT_LEN];
		uint8_t optlen = 0;

		if (tw->ts_ok)
			optlen = ts_option(opts, ts_clock(w, ts_offset(w, tw->rip, tw->rport)),
					   tw->ts_recent);
		tcp_emit(w, &p, tw->snd_nxt, tw->rcv_nxt, TCP_FL_ACK, 0, opts, optlen, NULL, 0, 0);
	}
}

static void listen_input(struct tcp_worker *w, struct tcp_seg *s)
{
	struct tcp_conn *c;

	if (s->flags & TCP_FL_RST)
		return;
	if (s->flags & TCP_FL_ACK) {
		if (s->flags & TCP_FL_SYN) {
			reply_rst(w, s);
			return;
		}
		c = listen_cookie_ack(w, s);
		if (c != NULL)
			conn_input(c, s);
		return;
	}
	if (s->flags & TCP_FL_SYN)
		listen_syn(w, s);
	/* Anything else without ACK is dropped (RFC 9293, LISTEN). */
}

/* Append in-order payload to the receive buffer; -1 if the buffer is out of mbufs. */
static int rcvq_append(struct tcp_conn *c, struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	struct rte_mbuf *t = c->rcv_tail;

	if (len <= TCP_COPY_MAX && t != NULL && RTE_MBUF_DIRECT(t) &&
	    rte_mbuf_refcnt_read(t) == 1 && rte_pktmbuf_tailroom(t) >= len) {
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len),
		       rte_pktmbuf_mtod_offset(m, uint8_t *, off), len);
		t->data_len += len;
		t->pkt_len = t->data_len;
		rte_pktmbuf_free(m);
	} else {
		if (c->rcv_mbufs + c->ooo_mbufs >= c->w->cfg.rcv_max_mbufs)
			return -1;
		rte_pktmbuf_adj(m, (uint16_t)off);
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
		m->next = NULL;
		if (t == NULL)
			c->rcv_head = m;
		else
			t->next = m;
		c->rcv_tail = m;
		c->rcv_mbufs++;
	}
	c->rcv_bytes += len;
	c->rcv_nxt += len;
	tcp_count(&c->w->ctr.rx_payload_bytes, len);
	return 0;
}

static void ooo_unlink_free(struct tcp_conn *c, struct rte_mbuf **link)
{
	struct rte_mbuf *m = *link;

	*link = m->next;
	c->ooo_bytes -= m->data_len;
	c->ooo_mbufs--;
	m->next = NULL;
	rte_pktmbuf_free(m);
}

/* Hold a segment that starts beyond rcv_nxt; the list stays sorted and disjoint. */
static int ooo_insert(struct tcp_conn *c, struct rte_mbuf *m, uint32_t seq, uint32_t off,
		      uint32_t len)
{
	struct rte_mbuf **link = &c->ooo_head;
	uint32_t end = seq + len;

	while (*link != NULL && SEQ_LEQ(mseq(*link) + (*link)->data_len, seq))
		link = &(*link)->next;
	if (*link != NULL && SEQ_LEQ(mseq(*link), seq)) {
		uint32_t covered = mseq(*link) + (*link)->data_len - seq;

		if (covered >= len)
			return 1; /* nothing new */
		seq += covered;
		off += covered;
		len -= covered;
		link = &(*link)->next;
	}
	while (*link != NULL && SEQ_LEQ(mseq(*link) + (*link)->data_len, end))
		ooo_unlink_free(c, link);
	if (*link != NULL && SEQ_LT(mseq(*link), end))
		len = mseq(*link) - seq;
	if (c->rcv_mbufs + c->ooo_mbufs >= c->w->cfg.rcv_max_mbufs)
		return -1;
	rte_pktmbuf_adj(m, (uint16_t)off);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	m->hash.usr = seq;
	m->next = *link;
	*link = m;
	c->ooo_bytes += len;
	c->ooo_mbufs++;
	return 0;
}

/* Move what the hole's filling made contiguous; returns the segments moved. */
static int ooo_pull(struct tcp_conn *c)
{
	int moved = 0;

	while (c->ooo_head != NULL && SEQ_LEQ(mseq(c->ooo_head), c->rcv_nxt)) {
		struct rte_mbuf *m = c->ooo_head;
		uint32_t skip = c->rcv_nxt - mseq(m);
		uint32_t len = m->data_len;

		c->ooo_head = m->next;
		c->ooo_bytes -= len;
		c->ooo_mbufs--;
		m->next = NULL;
		if (skip >= len) {
			rte_pktmbuf_free(m);
			continue;
		}
		if (rcvq_append(c, m, skip, len - skip) < 0) {
			rte_pktmbuf_free(m); /* cannot happen: it held an mbuf already */
			break;
		}
		moved++;
	}
	return moved;
}

/* RFC 9293 3.10.7.4, first check, with the zero-window and bare-FIN allowances. */
static int seg_acceptable(const struct tcp_conn *c, const struct tcp_seg *s, int *ack_only)
{
	uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t n = seg_seqlen(s);

	*ack_only = 0;
	if (s->seq == c->rcv_nxt && (n == 0 || (s->len == 0 && (s->flags & TCP_FL_FIN))))
		return 1;
	if (n == 0)
		return wnd > 0 && SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd);
	if (wnd == 0) {
		*ack_only = s->seq == c->rcv_nxt;
		return *ack_only;
	}
	return (SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd)) ||
	       (SEQ_GEQ(s->seq + n - 1, c->rcv_nxt) && SEQ_LT(s->seq + n - 1, c->rcv_nxt + wnd));
}

static void fast_retransmit(struct tcp_conn *c)
{
	uint32_t flight = c->snd_max - c->snd_una;

	c->ssthresh = RTE_MAX(flight / 2, 2u * c->mss);
	c->recover = c->snd_max;
	c->flags |= TCP_CF_RECOVERY;
	c->flags2 &= ~TCP_CF2_RTT;
	if (conn_retransmit_una(c) == 0)
		tcp_count(&c->w->ctr.fast_retransmits, 1);
	c->cwnd = c->ssthresh + 3u * c->mss;
}

/*
 * An ACK of new data measures the round trip. Without timestamps: the one
 * segment being timed, if it was not resent (Karn). With them, every such
 * ACK through its TSecr, retransmissions included (RFC 7323 4.1), each
 * weighted by the samples a round trip brings (appendix G: flight / 2 MSS,
 * ACKs being delayed); the timed segment, if covered, stands in for the
 * echo with its microsecond clock.
 */
static void ack_rtt(struct tcp_conn *c, const struct tcp_seg *s)
{
	uint64_t now = c->w->now_us;
	int timed = (c->flags2 & TCP_CF2_RTT) && SEQ_GT(s->ack, c->rtt_seq);
	uint32_t rtt, per_rtt;

	if (timed)
		c->flags2 &= ~TCP_CF2_RTT;
	if (ts_rtt(c, s, &rtt) == 0) {
		per_rtt = (c->snd_max - c->snd_una + 2u * c->mss - 1) / (2u * c->mss);
		if (timed)
			rtt = (uint32_t)(now - c->rtt_start_us);
		conn_rtt_sample(c, rtt, RTE_MAX(per_rtt, 1u));
	} else if (timed) {
		conn_rtt_sample(c, (uint32_t)(now - c->rtt_start_us), 1);
	}
}

/*
 * The ACK field: window update, RTT sample, congestion window (RFC 5681 with
 * NewReno recovery, RFC 6582), send buffer trimmed, FIN acknowledged.
 * Returns -1 when the connection is gone or the segment must be dropped.
 */
static int process_ack(struct tcp_conn *c, const struct tcp_seg *s)
{
	uint32_t acked, new_wnd;
	int wnd_changed = 0, fin_acked;

	if (SEQ_GT(s->ack, c->snd_max)) {
		conn_send_ack(c);
		return -1;
	}
	ts_update(c, s); /* past every check that drops it: the segment is acceptable */
	if (SEQ_LT(s->ack, c->snd_una))
		return 0; /* old: ignore the field, keep the data */
	if (SEQ_LT(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))) {
		new_wnd = s->wnd << c->snd_wscale;
		wnd_changed = new_wnd != c->snd_wnd;
		c->snd_wnd = new_wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		if (new_wnd > c->max_snd_wnd)
			c->max_snd_wnd = new_wnd;
		if (new_wnd > 0) {
			c->persist_at = 0;
			c->persist_backoff = 0;
		}
	}
	acked = s->ack - c->snd_una;
	if (acked == 0) {
		if (s->len == 0 && !(s->flags & TCP_FL_FIN) && !wnd_changed &&
		    c->snd_una != c->snd_max) {
			c->dupacks++;
			if (c->dupacks == 3 && !(c->flags & TCP_CF_RECOVERY))
				fast_retransmit(c);
			else if (c->dupacks > 3 && (c->flags & TCP_CF_RECOVERY))
				c->cwnd += c->mss;
		}
		return 0;
	}
	fin_acked = (c->flags & TCP_CF_FIN_QUEUED) && SEQ_GT(c->snd_max, sendq_fin_seq(c)) &&
		    s->ack == sendq_fin_seq(c) + 1;
	ack_rtt(c, s);
	sendq_drop_acked(c, acked);
	c->snd_una = s->ack;
	if (SEQ_LT(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	c->dupacks = 0;
	c->retries = 0;
	if (c->flags & TCP_CF_RECOVERY) {
		if (SEQ_GEQ(s->ack, c->recover)) {
			c->flags &= ~TCP_CF_RECOVERY;
			c->cwnd = RTE_MIN(c->ssthresh, (c->snd_max - c->snd_una) + c->mss);
		} else { /* partial ACK: the next hole */
			conn_retransmit_una(c);
			c->cwnd = (c->cwnd > acked ? c->cwnd - acked : 0) + c->mss;
		}
	} else if (c->cwnd < c->ssthresh) {
		c->cwnd += RTE_MIN(acked, (uint32_t)c->mss);
	} else {
		c->cwnd += RTE_MAX(1u, (uint32_t)c->mss * c->mss / c->cwnd);
	}
	if (c->snd_una == c->snd_max)
		c->rto_at = 0;
	else
		conn_rto_arm(c);
	if (fin_acked) {
		c->flags2 |= TCP_CF2_FIN_ACKED;
		if (c->state == TCP_FIN_WAIT_1) {
			c->state = TCP_FIN_WAIT_2;
		} else if (c->state == TCP_CLOSING) {
			conn_enter_time_wait(c);
			return -1;
		} else if (c->state == TCP_LAST_ACK) {
			conn_finish(c, 0);
			return -1;
		}
	}
	conn_check_writable(c);
	return c->state == TCP_CLOSED ? -1 : 0;
}

/*
 * Payload and FIN. Returns 1 if the application has something new to see
 * (bytes or the FIN), and sets *time_wait when the FIN completes our close.
 */
static int process_data(struct tcp_conn *c, struct tcp_seg *s, int ack_only, int *time_wait)
{
	struct tcp_worker *w = c->w;
	uint32_t seq = s->seq, len = s->len, off = payload_off(s);
	int fin = !!(s->flags & TCP_FL_FIN), news = 0;
	uint32_t wnd_end = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv : c->rcv_nxt;

	*time_wait = 0;
	if (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT_1 && c->state != TCP_FIN_WAIT_2)
		return 0; /* the peer's FIN came already: nothing more from it */
	if (ack_only) {
		if (len > 0)
			c->flags |= TCP_CF_ACK_NOW;
		return 0;
	}
	if (len > 0 && SEQ_LT(seq, c->rcv_nxt)) {
		uint32_t dup = c->rcv_nxt - seq;

		if (dup >= len) {
			len = 0;
			tcp_count(&w->ctr.dup_segments, 1);
			c->flags |= TCP_CF_ACK_NOW;
		} else {
			seq += dup;
			off += dup;
			len -= dup;
		}
	}
	if (len > 0 && SEQ_GT(seq + len, wnd_end)) {
		len = SEQ_GT(wnd_end, seq) ? wnd_end - seq : 0;
		fin = 0;
		c->flags |= TCP_CF_ACK_NOW;
	}
	if (len > 0 && seq == c->rcv_nxt) {
		if (c->flags & TCP_CF_FIN_QUEUED) { /* closed by the application: discard */
			c->rcv_nxt += len;
			c->flags |= TCP_CF_ACK_NOW;
		} else if (rcvq_append(c, s->m, off, len) < 0) {
			tcp_count(&w->ctr.drop_rcv_buffer_full, 1);
			c->flags |= TCP_CF_ACK_NOW;
			return 0;
		} else {
			s->m = NULL;
			news = 1;
			if (c->ooo_head != NULL) {
				ooo_pull(c);
				c->flags |= TCP_CF_ACK_NOW; /* a hole filled: tell at once */
			} else if (c->delack_at != 0 || w->cfg.delack_us == 0) {
				c->flags |= TCP_CF_ACK_NOW; /* every second segment */
			} else {
				c->delack_at = w->now_us + w->cfg.delack_us;
				conn_timer_arm(c, c->delack_at);
			}
		}
	} else if (len > 0) {
		int rc = ooo_insert(c, s->m, seq, off, len);

		if (rc == 0) {
			s->m = NULL;
			tcp_count(&w->ctr.ooo_segments, 1);
		} else if (rc < 0) {
			tcp_count(&w->ctr.drop_rcv_buffer_full, 1);
		} else {
			tcp_count(&w->ctr.dup_segments, 1);
		}
		c->flags |= TCP_CF_ACK_NOW; /* duplicate ACK: the peer may fast-retransmit */
	}
	/* A FIN beyond a hole is remembered and takes effect when the hole fills. */
	if (fin && SEQ_GT(s->seq + s->len, c->rcv_nxt)) {
		c->flags2 |= TCP_CF2_FIN_OOO;
		c->fin_ooo_seq = s->seq + s->len;
	}
	if ((fin && s->seq + s->len == c->rcv_nxt) ||
	    ((c->flags2 & TCP_CF2_FIN_OOO) && c->fin_ooo_seq == c->rcv_nxt)) {
		c->flags2 &= ~TCP_CF2_FIN_OOO;
		c->rcv_nxt++;
		c->flags |= TCP_CF_FIN_RCVD | TCP_CF_ACK_NOW;
		news = 1;
		if (c->state == TCP_ESTABLISHED) {
			c->state = TCP_CLOSE_WAIT;
		} else if (c->state == TCP_FIN_WAIT_2 || (c->flags2 & TCP_CF2_FIN_ACKED)) {
			*time_wait = 1;
		} else {
			c->state = TCP_CLOSING;
		}
	}
	return news && !(c->flags & TCP_CF_FIN_QUEUED);
}

/* RFC 5961 5, 7: challenge ACKs, at most challenge_ack_limit a second per worker. */
static void challenge_ack(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;
	uint32_t limit = w->cfg.challenge_ack_limit;

	if (w->now_us - w->challenge_epoch_us >= 1000000) {
		w->challenge_epoch_us = w->now_us;
		w->challenge_left = limit;
	}
	if (limit > 0) {
		if (w->challenge_left == 0) {
			tcp_count(&w->ctr.challenge_acks_limited, 1);
			return;
		}
		w->challenge_left--;
	}
	tcp_count(&w->ctr.challenge_acks, 1);
	conn_send_ack(c);
}

static int syn_received_ack(struct tcp_conn *c, struct tcp_seg *s)
{
	struct tcp_worker *w = c->w;
	uint32_t rtt;

	if (s->flags & TCP_FL_RST) {
		if (s->seq == c->rcv_nxt) {
			tcp_count(&w->ctr.resets_received, 1);
			conn_release(c);
		}
		return -1;
	}
	if (s->flags & TCP_FL_SYN) {
		if (!(s->flags & TCP_FL_ACK) && s->seq == c->irs) { /* our SYN-ACK was lost */
			ts_update(c, s); /* echo the resent SYN's TSval: the peer times it */
			conn_send_synack(c);
		}
		return -1;
	}
	if (!(s->flags & TCP_FL_ACK))
		return -1;
	if (s->ack != c->snd_nxt) {
		reply_rst(w, s);
		return -1;
	}
	ts_update(c, s);
	if ((c->flags2 & TCP_CF2_RTT) && c->retries == 0)
		conn_rtt_sample(c, (uint32_t)(w->now_us - c->rtt_start_us), 1);
	else if (ts_rtt(c, s, &rtt) == 0) /* a resent SYN-ACK, or a cookie's */
		conn_rtt_sample(c, rtt, 1);
	c->flags2 &= ~TCP_CF2_RTT;
	c->retries = 0;
	c->rto_at = 0;
	c->snd_una = s->ack;
	c->snd_wnd = s->wnd << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->last_rx_us = w->now_us;
	conn_establish(c);
	return c->flags & TCP_CF_DEAD ? -1 : 0;
}

/*
 * Whether the output a segment calls for can wait for tcp_tx_drain: it came
 * in order on an established connection that holds nothing out of order and
 * it carries no FIN. Then the replies to all the segments a connection got
 * in one RX burst leave together, in as few segments as they fill, and one
 * ACK covers them (an ACK every second full segment still, only at the end
 * of the burst). Anything else (duplicate ACKs for out-of-order data, the
 * ACK of a FIN, a zero window's ACK) goes at once.
 */
static int output_can_wait(const struct tcp_conn *c, const struct tcp_seg *s, int ack_only)
{
	return c->state == TCP_ESTABLISHED && s->seq == c->rcv_nxt && c->ooo_head == NULL &&
	       !(s->flags & TCP_FL_FIN) && !ack_only;
}

static void conn_input(struct tcp_conn *c, struct tcp_seg *s)
{
	struct tcp_worker *w = c->w;
	int ack_only = 0, time_wait = 0, news, wait;

	c->flags |= TCP_CF_BUSY;
	c->last_rx_us = w->now_us;
	c->probes = 0;
	if (paws_check(c, s) < 0)
		goto out;
	if (c->state == TCP_SYN_RECEIVED) {
		if (syn_received_ack(c, s) < 0)
			goto out;
	} else {
		if (!seg_acceptable(c, s, &ack_only)) {
			if (!(s->flags & TCP_FL_RST)) {
				if (SEQ_LEQ(s->seq + seg_seqlen(s), c->rcv_nxt))
					tcp_count(&w->ctr.dup_segments, 1);
				else
					tcp_count(&w->ctr.drop_out_of_window, 1);
				conn_send_ack(c);
			}
			goto out;
		}
		if (s->flags & TCP_FL_RST) {
			if (s->seq == c->rcv_nxt) {
				tcp_count(&w->ctr.resets_received, 1);
				conn_finish(c, -ECONNRESET);
			} else {
				challenge_ack(c);
			}
			goto out;
		}
		if (s->flags & TCP_FL_SYN) {
			challenge_ack(c);
			goto out;
		}
		if (!(s->flags & TCP_FL_ACK) || process_ack(c, s) < 0)
			goto out;
	}
	wait = output_can_wait(c, s, ack_only);
	news = process_data(c, s, ack_only, &time_wait);
	if (news)
		conn_app_data(c);
	if (c->flags & TCP_CF_DEAD)
		goto out;
	if (wait && !time_wait && c->state == TCP_ESTABLISHED && c->ooo_head == NULL)
		conn_mark_pending(c);
	else
		conn_output(c);
	if (time_wait)
		conn_enter_time_wait(c);
out:
	c->flags &= ~TCP_CF_BUSY;
	if (c->flags & TCP_CF_DEAD)
		conn_release(c);
}

void tcp_input(struct tcp_worker *w, struct rte_mbuf *m)
{
	struct tcp_seg s;
	struct tcp_conn *c;
	struct tcp_tw *tw;

	tcp_count(&w->ctr.rx_segments, 1);
	if (parse_segment(w, m, &s) < 0)
		goto out;
	if (s.th->dst_port != rte_cpu_to_be_16(w->cfg.port)) {
		tcp_count(&w->ctr.drop_no_listener, 1);
		reply_rst(w, &s);
		goto out;
	}
	c = conn_lookup(w, s.ip->src_addr, s.th->src_port);
	if (c != NULL) {
		conn_input(c, &s);
		goto out;
	}
	tw = tw_lookup(w, s.ip->src_addr, s.th->src_port);
	if (tw != NULL)
		tw_input(w, tw, &s);
	else
		listen_input(w, &s);
out:
	if (s.m != NULL)
		rte_pktmbuf_free(s.m);
}
