/*
 * A client-side TCP just big enough to load a server over net_memif:
 * --conns connections from consecutive local ports, each a 3-way handshake
 * (MSS option, no window scaling), then requests pipelined through
 * lg_stream within the server's advertised window, cumulative ACKs, and
 * replies taken strictly in order.
 *
 * memif does not lose frames, and we never send beyond the window, so there
 * is no retransmission here: a segment beyond rcv_nxt (a gap), a reset, a
 * FIN, or a connection that makes no progress for 3 s while it waits is
 * counted and ends the run with an error rather than being papered over.
 * At the end every connection is reset so the server frees it at once.
 */
#include "lg_memif.h"
#include "../../../dataplane/net/cksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#define MSS	   1460
#define RCV_WND	   65535
#define SENDQ	   (256 * 1024)
#define TX_PENDING 256

enum conn_state { CONN_SYN_SENT, CONN_ESTABLISHED };

struct conn {
	enum conn_state state;
	uint16_t lport;
	uint32_t iss, snd_una, snd_nxt, snd_wnd, rcv_nxt;
	uint16_t mss;
	bool ack_pending;
	uint64_t last_progress;
	struct lg_stream st;
	size_t q_len; /* requests built, not yet sent: sendq[0..q_len) */
	char *sendq;
};

struct tcp_client {
	struct lg_port *p;
	const struct lg_workload *w;
	struct lg_stats *s;
	struct conn *conns;
	unsigned int n;
	struct rte_mbuf *tx[TX_PENDING];
	unsigned int ntx;
	uint64_t stall;
	bool draining;	/* no new requests: what is pending comes back */
	bool resetting; /* answer the server's challenge ACKs with exact resets */
	const char *failure;
};

static void fail(struct tcp_client *tc, const char *why)
{
	if (tc->failure == NULL)
		tc->failure = why;
}

/* Queue one segment: flags, payload (may be NULL), and the MSS option on a SYN. */
static void segment(struct tcp_client *tc, struct conn *c, uint8_t flags, uint32_t seq,
		    const char *data, size_t len)
{
	const size_t l2l3 = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr);
	size_t thl = sizeof(struct rte_tcp_hdr) + ((flags & RTE_TCP_SYN_FLAG) ? 4 : 0);
	struct rte_mbuf *m;
	struct rte_tcp_hdr *th;
	struct rte_ipv4_hdr *ip;

	if (tc->ntx == TX_PENDING) {
		fail(tc, "TX queue full");
		return;
	}
	m = rte_pktmbuf_alloc(tc->p->pool);
	if (m == NULL) {
		fail(tc, "out of mbufs");
		return;
	}
	th = (struct rte_tcp_hdr *)(rte_pktmbuf_mtod(m, char *) + l2l3);
	th->src_port = rte_cpu_to_be_16(c->lport);
	th->dst_port = rte_cpu_to_be_16(tc->p->server_port);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? c->rcv_nxt : 0);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(RCV_WND);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (flags & RTE_TCP_SYN_FLAG) {
		uint8_t *opt = (uint8_t *)(th + 1);

		opt[0] = 2; /* MSS */
		opt[1] = 4;
		opt[2] = MSS >> 8;
		opt[3] = MSS & 0xff;
	}
	if (len > 0)
		memcpy((char *)th + thl, data, len);
	m->data_len = m->pkt_len = (uint32_t)(l2l3 + thl + len);
	lg_ip_header(tc->p, m, IPPROTO_TCP, (uint16_t)(thl + len));
	ip = (struct rte_ipv4_hdr *)(rte_pktmbuf_mtod(m, char *) + sizeof(struct rte_ether_hdr));
	/* 16 bytes a step (dataplane/net/cksum.h), not rte_raw_cksum's 2: segments are 1460 B */
	th->cksum = (uint16_t)~net_cksum_fold(
	    net_cksum_add(rte_ipv4_phdr_cksum(ip, 0), th, thl + len));
	tc->tx[tc->ntx++] = m;
}

/* Sends what is queued, in order; what the port refuses waits for the next call. */
static void flush(struct tcp_client *tc)
{
	uint16_t sent;

	if (tc->ntx == 0)
		return;
	sent = rte_eth_tx_burst(tc->p->port_id, 0, tc->tx, (uint16_t)tc->ntx);
	memmove(tc->tx, tc->tx + sent, (tc->ntx - sent) * sizeof(tc->tx[0]));
	tc->ntx -= sent;
}

/* The MSS option of a SYN-ACK, or RFC 9293's default when it has none. */
static uint16_t peer_mss(const uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len && opt[i] != 0) {
		if (opt[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
			break;
		if (opt[i] == 2 && opt[i + 1] == 4) {
			uint16_t mss = (uint16_t)(opt[i + 2] << 8 | opt[i + 3]);

			return mss >= 64 ? mss : 536;
		}
		i += opt[i + 1];
	}
	return 536;
}

static void conn_input(struct tcp_client *tc, struct conn *c, const struct rte_tcp_hdr *th,
		       size_t l4_len, uint64_t now)
{
	size_t thl = (size_t)(th->data_off >> 4) * 4;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);
	uint8_t flags = th->tcp_flags;
	const char *data = (const char *)th + thl;
	size_t len;

	if (thl < sizeof(*th) || thl > l4_len) {
		fail(tc, "malformed segment from the server");
		return;
	}
	len = l4_len - thl;
	if (tc->resetting) {
		/* RFC 5961: the ACK of our inexact reset names the sequence it wants. */
		if ((flags & RTE_TCP_ACK_FLAG) && !(flags & RTE_TCP_RST_FLAG))
			segment(tc, c, RTE_TCP_RST_FLAG, ack, NULL, 0);
		return;
	}
	if (flags & RTE_TCP_RST_FLAG) {
		fail(tc, "the server reset a connection");
		return;
	}
	if (c->state == CONN_SYN_SENT) {
		if ((flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) !=
			(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) ||
		    ack != c->iss + 1)
			return;
		c->state = CONN_ESTABLISHED;
		c->mss =
		    RTE_MIN((uint16_t)MSS, peer_mss((const uint8_t *)(th + 1), thl - sizeof(*th)));
		c->rcv_nxt = seq + 1;
		c->snd_una = c->snd_nxt = ack;
		c->snd_wnd = rte_be_to_cpu_16(th->rx_win);
		c->ack_pending = true;
		c->last_progress = now;
		return;
	}
	if (flags & RTE_TCP_ACK_FLAG) {
		if ((int32_t)(ack - c->snd_una) > 0 && (int32_t)(ack - c->snd_nxt) <= 0) {
			c->snd_una = ack;
			c->last_progress = now;
		}
		c->snd_wnd = rte_be_to_cpu_16(th->rx_win);
	}
	if (len > 0) {
		int32_t off = (int32_t)(c->rcv_nxt - seq);

		if (off < 0) {
			tc->s->tcp_gaps++;
			fail(tc,
			     "a gap in the server's byte stream (memif should not lose frames)");
			return;
		}
		if ((size_t)off < len) {
			if (lg_stream_input(&c->st, tc->w, tc->s, data + off, len - (size_t)off,
					    now) < 0) {
				fail(tc, "a reply that cannot be framed");
				return;
			}
			c->rcv_nxt += (uint32_t)(len - (size_t)off);
			c->last_progress = now;
		}
		c->ack_pending = true; /* new data, or a retransmission to acknowledge again */
	}
	if (flags & RTE_TCP_FIN_FLAG)
		fail(tc, "the server closed a connection");
}

static void receive(struct tcp_client *tc, uint64_t now)
{
	struct rte_mbuf *pkts[LG_BURST];
	unsigned int n = lg_port_rx(tc->p, pkts, LG_BURST);

	for (unsigned int i = 0; i < n; i++) {
		size_t l4_len;
		struct rte_tcp_hdr *th = lg_ip_input(tc->p, pkts[i], IPPROTO_TCP, &l4_len);
		unsigned int idx;

		/* e.g. a retransmission to an earlier run's connection */
		if (th == NULL || l4_len < sizeof(*th) ||
		    th->src_port != rte_cpu_to_be_16(tc->p->server_port)) {
			tc->s->stray++;
			continue;
		}
		idx = (uint16_t)(rte_be_to_cpu_16(th->dst_port) - tc->p->src_port);
		if (idx >= tc->n) {
			tc->s->stray++;
			continue;
		}
		conn_input(tc, &tc->conns[idx], th, l4_len, now);
	}
	rte_pktmbuf_free_bulk(pkts, n);
}

static bool conn_waiting(const struct conn *c)
{
	return lg_stream_pending(&c->st) != 0 || c->snd_nxt != c->snd_una || c->q_len != 0;
}

/* New requests into the queue, then as many segments as the window takes. */
static void conn_output(struct tcp_client *tc, struct conn *c, struct lg_cursor *cur, uint64_t now)
{
	size_t sent = 0;

	if (c->state != CONN_ESTABLISHED)
		return;
	if (!conn_waiting(c))
		c->last_progress = now; /* the stall clock starts with the first request */
	if (!tc->draining)
		c->q_len += lg_stream_output(&c->st, cur, tc->s, c->sendq + c->q_len,
					     SENDQ - c->q_len, now);
	while (sent < c->q_len && tc->ntx < TX_PENDING) {
		uint32_t in_flight = c->snd_nxt - c->snd_una;
		size_t room = c->snd_wnd > in_flight ? c->snd_wnd - in_flight : 0;
		size_t len = RTE_MIN(RTE_MIN((size_t)c->mss, room), c->q_len - sent);

		if (len == 0)
			break;
		segment(tc, c, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->snd_nxt, c->sendq + sent,
			len);
		c->snd_nxt += (uint32_t)len;
		sent += len;
		c->ack_pending = false;
	}
	memmove(c->sendq, c->sendq + sent, c->q_len - sent);
	c->q_len -= sent;
	if (c->ack_pending && tc->ntx < TX_PENDING) {
		segment(tc, c, RTE_TCP_ACK_FLAG, c->snd_nxt, NULL, 0);
		c->ack_pending = false;
	}
}

static void check_stalls(struct tcp_client *tc)
{
	uint64_t now = lg_now();

	for (unsigned int i = 0; i < tc->n; i++) {
		struct conn *c = &tc->conns[i];

		if (conn_waiting(c) && now - c->last_progress > tc->stall) {
			tc->s->tcp_gaps++;
			fail(tc, "a connection made no progress for 3 s (a lost segment?)");
		}
	}
}

static int phase(struct tcp_client *tc, struct lg_cursor *cur, uint64_t end)
{
	uint64_t next_check = 0;

	while (tc->failure == NULL) {
		uint64_t now = lg_now();
		bool idle = true;

		if (now >= end) {
			if (cur->preload)
				fail(tc, "the preload did not finish in time");
			break;
		}
		receive(tc, lg_now());
		for (unsigned int i = 0; i < tc->n; i++)
			idle &= !conn_waiting(&tc->conns[i]);
		if (cur->preload && cur->i >= tc->w->keys && idle)
			break;
		flush(tc);
		if (tc->ntx == 0)
			for (unsigned int i = 0; i < tc->n; i++)
				conn_output(tc, &tc->conns[i], cur, lg_now());
		flush(tc);
		if (now >= next_check) {
			check_stalls(tc);
			next_check = now + tc->stall / 10;
		}
	}
	return tc->failure == NULL ? 0 : -1;
}

static int handshake(struct tcp_client *tc)
{
	uint64_t deadline = lg_now() + lg_ticks(5), resend = 0;

	for (;;) {
		unsigned int up = 0;
		uint64_t now = lg_now();

		for (unsigned int i = 0; i < tc->n; i++)
			up += tc->conns[i].state == CONN_ESTABLISHED;
		if (up == tc->n || tc->failure != NULL)
			break;
		if (now > deadline) {
			fail(tc, "the server did not accept every connection in 5 s");
			break;
		}
		if (now >= resend) {
			for (unsigned int i = 0; i < tc->n; i++)
				if (tc->conns[i].state == CONN_SYN_SENT)
					segment(tc, &tc->conns[i], RTE_TCP_SYN_FLAG,
						tc->conns[i].iss, NULL, 0);
			resend = now + lg_ticks(0.5);
		}
		flush(tc);
		receive(tc, now);
	}
	return tc->failure == NULL ? 0 : -1;
}

/*
 * The end: no new requests, the replies still due are read (into scratch
 * figures, after the measured time), then every connection is reset at
 * exactly the sequence the server expects, so it forgets them now rather
 * than at its idle timeout.
 */
static void finish(struct tcp_client *tc, struct lg_cursor *cur)
{
	struct lg_stats scratch;
	uint64_t deadline = lg_now() + lg_ticks(2);

	if (lg_stats_init(&scratch) == 0) {
		struct lg_stats *measured = tc->s;
		const char *failure = tc->failure;

		tc->s = &scratch;
		tc->draining = true;
		tc->failure = NULL;
		while (tc->failure == NULL && lg_now() < deadline) {
			bool idle = true;

			receive(tc, lg_now());
			for (unsigned int i = 0; i < tc->n; i++)
				idle &= !conn_waiting(&tc->conns[i]);
			if (idle)
				break;
			flush(tc);
			if (tc->ntx == 0)
				for (unsigned int i = 0; i < tc->n; i++)
					conn_output(tc, &tc->conns[i], cur, lg_now());
			flush(tc);
		}
		tc->s = measured;
		tc->failure = failure;
		lg_stats_free(&scratch);
	}
	tc->resetting = true;
	for (unsigned int i = 0; i < tc->n; i++) {
		struct conn *c = &tc->conns[i];

		if (tc->ntx == TX_PENDING)
			flush(tc);
		if (tc->ntx < TX_PENDING)
			segment(tc, c, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
				c->state == CONN_ESTABLISHED ? c->snd_nxt : c->iss + 1, NULL, 0);
	}
	deadline = lg_now() + lg_ticks(0.2);
	while (lg_now() < deadline) {
		flush(tc);
		receive(tc, lg_now());
	}
	rte_pktmbuf_free_bulk(tc->tx, tc->ntx);
	tc->ntx = 0;
}

int lg_run_tcp(struct lg_port *p, const struct lg_options *o, const struct lg_workload *w,
	       struct lg_stats *s, double *seconds)
{
	struct tcp_client tc = {.p = p, .w = w, .s = s, .n = o->conns, .stall = lg_ticks(3)};
	struct lg_cursor cur = {.w = w};
	uint64_t t0;
	int rc = -1;

	tc.conns = calloc(o->conns, sizeof(*tc.conns));
	if (tc.conns == NULL)
		return -1;
	for (unsigned int i = 0; i < tc.n; i++) {
		struct conn *c = &tc.conns[i];

		c->lport = (uint16_t)(p->src_port + i);
		c->iss = (uint32_t)(lg_now() * 2654435761u) + i * 0x01000000u;
		c->mss = MSS;
		c->sendq = malloc(SENDQ);
		if (c->sendq == NULL || lg_stream_init(&c->st, o->window, lg_ns_per_tick()) < 0)
			goto out;
	}
	if (handshake(&tc) < 0)
		goto out;
	if (o->preload) {
		cur.preload = true;
		if (phase(&tc, &cur, lg_now() + lg_ticks(120)) < 0 || lg_preload_verdict(w, s) < 0)
			goto out;
		cur.preload = false;
		cur.i = 0;
	}
	if (phase(&tc, &cur, lg_now() + lg_ticks(o->warmup)) < 0)
		goto out;
	lg_stats_reset(s);
	t0 = lg_now();
	if (phase(&tc, &cur, t0 + lg_ticks(o->duration)) < 0)
		goto out;
	*seconds = (double)(lg_now() - t0) * lg_ns_per_tick() / 1e9;
	rc = 0;
out:
	if (tc.failure != NULL) {
		fprintf(stderr, "dpcache-loadgen: TCP: %s (%lu replies so far, %lu gaps)\n",
			tc.failure, (unsigned long)s->replies, (unsigned long)s->tcp_gaps);
		for (unsigned int i = 0; i < tc.n; i++) {
			const struct conn *c = &tc.conns[i];

			fprintf(
			    stderr,
			    "dpcache-loadgen:   port %u: %s, unacked %u, window %u, queued %zu, "
			    "replies due %u, rcv_nxt %u\n",
			    c->lport, c->state == CONN_ESTABLISHED ? "established" : "syn-sent",
			    c->snd_nxt - c->snd_una, c->snd_wnd, c->q_len,
			    lg_stream_pending(&c->st), c->rcv_nxt);
		}
	}
	finish(&tc, &cur);
	for (unsigned int i = 0; i < tc.n; i++) {
		lg_stream_free(&tc.conns[i].st);
		free(tc.conns[i].sendq);
	}
	free(tc.conns);
	return rc;
}
