/*
 * The TCP engine's timers, with time driven through tcp_timers_run():
 * retransmission with backoff, fast retransmit, zero-window probes,
 * SYN-ACK retries, keepalive, idle timeout, close timeout.
 */
#include <errno.h>
#include <string.h>

#include <rte_tcp.h>

#include "cunit_tap.h"
#include "test_tcp_util.h"

#define SYN RTE_TCP_SYN_FLAG
#define ACK RTE_TCP_ACK_FLAG
#define FIN RTE_TCP_FIN_FLAG
#define RST RTE_TCP_RST_FLAG
#define PSH RTE_TCP_PSH_FLAG

static uint8_t pattern[65536];

/* Advance in 1 ms steps until a segment is queued; returns the µs waited (or 0). */
static uint64_t wait_for_output(uint64_t limit_us)
{
	uint64_t waited = 0;

	while (waited < limit_us) {
		tnow += 1000;
		waited += 1000;
		tcp_timers_run(W, tnow);
		if (nout() > 0)
			return waited;
	}
	return 0;
}

static void test_rto_backoff(void)
{
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss;
	uint64_t t1, t2, t3;

	start(NULL);
	c = handshake(PEER_PORT, &iss);
	/* The handshake's RTT was ~0: the RTO is the 200 ms floor. */
	CU_ASSERT_EQUAL(c->rto_us, W->cfg.rto_min_us);
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 100), 100);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.len, 100);
	t1 = wait_for_output(10000000);
	CU_ASSERT(t1 >= 200000 && t1 <= 202000);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss + 1);
	CU_ASSERT_EQUAL(o.len, 100);
	CU_ASSERT(memcmp(o.data, pattern, 100) == 0);
	t2 = wait_for_output(10000000);
	CU_ASSERT(t2 >= 400000 && t2 <= 402000); /* doubled */
	drop_out();
	t3 = wait_for_output(10000000);
	CU_ASSERT(t3 >= 800000 && t3 <= 802000);
	drop_out();
	CU_ASSERT_EQUAL(W->ctr.retransmits, 3);
	CU_ASSERT_EQUAL(W->ctr.rto_expired, 3);
	/* The ACK arrives: no more retransmissions. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 101, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(wait_for_output(5000000), 0);
	CU_ASSERT_EQUAL(c->retries, 0);
	stop();
}

static void test_rto_gives_up(void)
{
	struct tcp_config cfg;
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss;

	test_config(&cfg);
	cfg.max_retries = 3;
	cfg.rto_max_us = 1000000;
	start(&cfg);
	c = handshake(PEER_PORT, &iss);
	tcp_send(c, pattern, 10);
	drop_out();
	advance_us(10000000);
	CU_ASSERT_EQUAL(W->ctr.retransmits, 3);
	CU_ASSERT_EQUAL(W->ctr.timeouts, 1);
	CU_ASSERT_EQUAL(app.closed, 1);
	CU_ASSERT_EQUAL(app.close_error, -ETIMEDOUT);
	/* The last thing sent is the RST. */
	o.flags = 0;
	while (take(&o) == 0)
		;
	CU_ASSERT(o.flags & RST);
	stop();
}

static void test_rtt_estimate(void)
{
	struct tcp_conn *c;
	uint32_t iss;

	start(NULL);
	c = handshake(PEER_PORT, &iss);
	for (uint32_t i = 0; i < 8; i++) {
		tcp_send(c, pattern, 10);
		drop_out();
		advance_us(50000);
		peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + 10 * (i + 1), ACK, 512, NULL, 0, NULL,
			  0);
	}
	/* srtt converges towards 50 ms from the handshake's ~0. */
	CU_ASSERT(c->srtt_us > 30000 && c->srtt_us <= 50000);
	CU_ASSERT(c->rto_us >= c->srtt_us);
	stop();
}

static void test_fast_retransmit(void)
{
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss, mss;

	start(NULL);
	c = handshake(PEER_PORT, &iss);
	mss = c->mss;
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 6 * mss), (int)(6 * mss));
	CU_ASSERT_EQUAL(nout(), 6); /* initial window of 10 segments */
	drop_out();
	/* The second segment is lost: the peer acknowledges the first, then dups. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + mss, ACK, 512, NULL, 0, NULL, 0);
	drop_out();
	for (int i = 0; i < 2; i++)
		peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + mss, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(nout(), 0);
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + mss, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss + 1 + mss);
	CU_ASSERT_EQUAL(o.len, mss);
	CU_ASSERT(memcmp(o.data, pattern + mss, mss) == 0);
	CU_ASSERT_EQUAL(W->ctr.fast_retransmits, 1);
	CU_ASSERT(c->flags & TCP_CF_RECOVERY);
	CU_ASSERT_EQUAL(c->ssthresh, 5 * mss / 2 > 2 * mss ? 5 * mss / 2 : 2 * mss);
	/* Partial ACK (NewReno): the next hole goes at once. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + 3 * mss, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss + 1 + 3 * mss);
	drop_out();
	/* Full ACK ends recovery. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + 6 * mss, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT(!(c->flags & TCP_CF_RECOVERY));
	CU_ASSERT_EQUAL(c->snd_bytes, 0);
	CU_ASSERT_EQUAL(W->ctr.rto_expired, 0);
	stop();
}

static void test_zero_window_probe(void)
{
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss;
	uint64_t t1, t2;

	start(NULL);
	c = handshake(PEER_PORT, &iss);
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1, ACK, 0, NULL, 0, NULL, 0); /* window closed */
	CU_ASSERT_EQUAL(c->snd_wnd, 0);
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 500), 500);
	CU_ASSERT_EQUAL(nout(), 0); /* nothing may go */
	t1 = wait_for_output(10000000);
	CU_ASSERT(t1 >= 200000 && t1 <= 202000);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss); /* snd_una - 1: the peer must answer */
	CU_ASSERT_EQUAL(o.len, 0);
	CU_ASSERT_EQUAL(W->ctr.zero_window_probes, 1);
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1, ACK, 0, NULL, 0, NULL, 0); /* still closed */
	CU_ASSERT_EQUAL(nout(), 0);
	t2 = wait_for_output(10000000);
	CU_ASSERT(t2 >= 399000 && t2 <= 402000); /* backed off */
	drop_out();
	CU_ASSERT_EQUAL(W->ctr.zero_window_probes, 2);
	CU_ASSERT_EQUAL(app.closed, 0); /* an answering peer is never given up on */
	/* The window opens: the data goes. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.len, 500);
	CU_ASSERT_EQUAL(o.seq, iss + 1);
	stop();
}

static void test_synack_retries(void)
{
	struct tcp_config cfg;
	struct out_seg o;
	int n = 0;

	test_config(&cfg);
	cfg.syn_retries = 2;
	start(&cfg);
	peer_send(PEER_PORT, PEER_ISN, 0, SYN, 1000, NULL, 0, NULL, 0);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(W->ctr.half_open, 1);
	advance_us(1000000 - 20000);
	CU_ASSERT_EQUAL(nout(), 0); /* initial RTO: 1 s */
	advance_us(30000);
	while (take(&o) == 0) {
		CU_ASSERT_EQUAL(o.flags, SYN | ACK);
		n++;
	}
	CU_ASSERT_EQUAL(n, 1);
	advance_us(10000000);
	while (take(&o) == 0)
		n++;
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(W->ctr.half_open, 0); /* given up, slot free */
	CU_ASSERT_EQUAL(W->nfree, cfg.max_conns);
	CU_ASSERT_EQUAL(app.closed, 0); /* never opened: no on_close */
	stop();
}

static void test_keepalive(void)
{
	struct tcp_config cfg;
	struct out_seg o;
	uint32_t iss;

	test_config(&cfg);
	cfg.keepalive_us = 2000000;
	cfg.keepalive_intvl_us = 1000000;
	cfg.keepalive_probes = 3;
	start(&cfg);
	handshake(PEER_PORT, &iss);
	advance_us(1990000);
	CU_ASSERT_EQUAL(nout(), 0);
	advance_us(20000);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss); /* snd_una - 1 */
	CU_ASSERT_EQUAL(o.len, 0);
	/* The peer answers: the clock restarts. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1, ACK, 512, NULL, 0, NULL, 0);
	advance_us(1990000);
	CU_ASSERT_EQUAL(nout(), 0);
	/* Now it stays silent: three probes a second apart, then the reset. */
	advance_us(20000 + 3 * 1000000 + 10000);
	CU_ASSERT_EQUAL(W->ctr.keepalive_probes, 4);
	CU_ASSERT_EQUAL(W->ctr.timeouts, 1);
	CU_ASSERT_EQUAL(app.closed, 1);
	CU_ASSERT_EQUAL(app.close_error, -ETIMEDOUT);
	stop();
}

static void test_idle_timeout(void)
{
	struct tcp_config cfg;
	struct out_seg o;
	struct tcp_conn *c;
	uint32_t iss;

	test_config(&cfg);
	cfg.idle_timeout_us = 5000000;
	start(&cfg);
	c = handshake(PEER_PORT, &iss);
	advance_us(3000000);
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1, ACK, 512, NULL, 0, NULL, 0); /* activity */
	advance_us(4900000);
	CU_ASSERT_EQUAL(nout(), 0);
	advance_us(200000);
	CU_ASSERT_EQUAL(W->ctr.idle_timeouts, 1);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.flags, ACK | FIN);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_1);
	CU_ASSERT_EQUAL(tcp_send(c, "x", 1), -EPIPE);
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 2, ACK | FIN, 512, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(app.closed, 1);
	CU_ASSERT_EQUAL(W->ctr.time_wait, 1);
	stop();
}

static void test_fin_timeout(void)
{
	struct tcp_config cfg;
	struct tcp_conn *c;
	uint32_t iss;

	test_config(&cfg);
	cfg.fin_timeout_us = 3000000;
	start(&cfg);
	c = handshake(PEER_PORT, &iss);
	tcp_close(c);
	drop_out();
	/* FIN acknowledged, but the peer never closes its side. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 2, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(tcp_conn_state(c), TCP_FIN_WAIT_2);
	advance_us(2900000);
	CU_ASSERT_EQUAL(app.closed, 0);
	advance_us(200000);
	CU_ASSERT_EQUAL(app.closed, 1);
	CU_ASSERT_EQUAL(W->nfree, cfg.max_conns);
	stop();
}

static void test_many_connections_timers(void)
{
	struct tcp_config cfg;
	uint32_t iss[16];
	struct tcp_conn *c[16];

	test_config(&cfg);
	start(&cfg);
	for (int i = 0; i < 16; i++) {
		c[i] = handshake(PEER_PORT + i, &iss[i]);
		tcp_send(c[i], pattern, 100);
		drop_out();
	}
	/* Half are acknowledged; only the others are retransmitted. */
	for (int i = 0; i < 16; i += 2)
		peer_send(PEER_PORT + i, PEER_ISN + 1, iss[i] + 101, ACK, 512, NULL, 0, NULL, 0);
	advance_us(250000);
	CU_ASSERT_EQUAL(nout(), 8);
	CU_ASSERT_EQUAL(W->ctr.retransmits, 8);
	stop();
}

static void test_zero_copy_retransmit(void)
{
	struct rte_mbuf *v = rte_pktmbuf_alloc(tpool), *v2 = rte_pktmbuf_alloc(tpool);
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss, got = 0;

	start(NULL);
	c = handshake(PEER_PORT, &iss);
	memcpy(rte_pktmbuf_append(v, 1800), pattern, 1800);
	memcpy(rte_pktmbuf_append(v2, 1800), pattern + 1800, 1800);
	CU_ASSERT_FATAL(rte_pktmbuf_chain(v, v2) == 0);
	CU_ASSERT_EQUAL(tcp_send_mbuf(c, v), 0);
	drop_out(); /* all lost */
	CU_ASSERT(wait_for_output(10000000) > 0);
	CU_ASSERT_FATAL(take(&o) == 0); /* one segment after the RTO, from snd_una */
	CU_ASSERT_EQUAL(o.seq, iss + 1);
	CU_ASSERT_EQUAL(o.len, c->mss);
	CU_ASSERT(memcmp(o.data, pattern, o.len) == 0);
	got = o.len;
	/* ACK it: the rest follows (slow start), byte-exact, across the two mbufs. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + got, ACK, 512, NULL, 0, NULL, 0);
	while (take(&o) == 0) {
		CU_ASSERT_EQUAL(o.seq, iss + 1 + got);
		CU_ASSERT(memcmp(o.data, pattern + got, o.len) == 0);
		got += o.len;
	}
	CU_ASSERT_EQUAL(got, 3600);
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1 + got, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(c->snd_bytes, 0);
	stop();
}

static void test_small_window_not_stuck(void)
{
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss;
	uint64_t t;

	start(NULL);
	c = handshake(PEER_PORT, &iss);
	/* The peer's window shrinks to 128 bytes (field 1, scale 7), far below its best. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 1, ACK, 1, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(c->snd_wnd, 128);
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 1000), 1000);
	CU_ASSERT_EQUAL(nout(), 0); /* sender SWS avoidance: wait for a better window */
	t = wait_for_output(10000000);
	CU_ASSERT(t >= 200000 && t <= 202000); /* but not for ever */
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss + 1);
	CU_ASSERT_EQUAL(o.len, 128);
	CU_ASSERT(memcmp(o.data, pattern, 128) == 0);
	/* The window opens: the rest goes at once. */
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 129, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss + 129);
	CU_ASSERT_EQUAL(o.len, 872);
	stop();
}

/*
 * The ACK of a resent segment: no sample without timestamps (Karn), so the
 * RTO stays backed off; with them its TSecr is one, and the RTO comes back.
 */
static void test_ts_rtt_after_retransmit(void)
{
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss, t0;

	start(NULL);
	c = handshake(PEER_PORT, &iss);
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 100), 100);
	drop_out();
	CU_ASSERT(wait_for_output(10000000) > 0);
	drop_out();
	CU_ASSERT_EQUAL(c->rto_us, 2 * W->cfg.rto_min_us);
	advance_us(30000);
	peer_send(PEER_PORT, PEER_ISN + 1, iss + 101, ACK, 512, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(c->snd_una, iss + 101);
	CU_ASSERT_EQUAL(c->rto_us, 2 * W->cfg.rto_min_us);
	stop();

	start(NULL);
	c = handshake_ts(PEER_PORT, &iss, 100, &t0);
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 100), 100);
	drop_out();
	CU_ASSERT(wait_for_output(10000000) > 0);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.seq, iss + 1);
	CU_ASSERT(o.has_ts);
	CU_ASSERT_EQUAL(o.ts_val, t0 + 200); /* resent at the 200 ms RTO */
	CU_ASSERT_EQUAL(c->rto_us, 2 * W->cfg.rto_min_us);
	advance_us(30000);
	peer_send_ts(PEER_PORT, PEER_ISN + 1, iss + 101, ACK, 512, NULL, 0, 102, o.ts_val);
	CU_ASSERT_EQUAL(c->snd_una, iss + 101);
	CU_ASSERT(c->srtt_us >= 30000 / 8 && c->srtt_us <= 30000);
	CU_ASSERT_EQUAL(c->rto_us, W->cfg.rto_min_us);
	/* An echo from the future (not ours) is no sample (the timed segment aside). */
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 100), 100);
	drop_out();
	c->flags2 &= ~TCP_CF2_RTT;
	uint32_t srtt = c->srtt_us;
	peer_send_ts(PEER_PORT, PEER_ISN + 1, iss + 201, ACK, 512, NULL, 0, 103, o.ts_val + 100000);
	CU_ASSERT_EQUAL(c->snd_una, iss + 201);
	CU_ASSERT_EQUAL(c->srtt_us, srtt);
	stop();
}

/* RFC 7323 appendix G: with a flight of 10 segments a sample weighs 1/5 of one. */
static void test_ts_rtt_weighted(void)
{
	struct tcp_conn *c;
	uint32_t iss, t0, s0, v0;

	start(NULL);
	c = handshake_ts(PEER_PORT, &iss, 100, &t0);
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 10 * c->mss), (int)(10 * c->mss));
	CU_ASSERT_EQUAL(nout(), 10);
	drop_out();
	s0 = c->srtt_us;
	v0 = c->rttvar_us;
	advance_us(80000);
	peer_send_ts(PEER_PORT, PEER_ISN + 1, iss + 1 + c->mss, ACK, 512, NULL, 0, 101, t0);
	CU_ASSERT_EQUAL(c->srtt_us, (39 * s0 + 80000) / 40);
	CU_ASSERT_EQUAL(c->rttvar_us, (19 * v0 + (80000 - s0)) / 20);
	stop();
}

/* Our TSval clock wraps past 2^32: the round trip across it is still right. */
static void test_ts_rtt_wrap(void)
{
	struct tcp_conn *c;
	struct out_seg o;
	uint32_t iss, t0, s0;

	start(NULL);
	c = handshake_ts(PEER_PORT, &iss, 100, &t0);
	c->ts_off -= t0 + 6; /* our clock reads 2^32 - 6 now */
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 100), 100);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.ts_val, 0xfffffffau);
	c->flags2 &= ~TCP_CF2_RTT; /* the echo alone measures */
	s0 = c->srtt_us;
	advance_us(30000);
	drop_out();
	peer_send_ts(PEER_PORT, PEER_ISN + 1, iss + 101, ACK, 512, NULL, 0, 101, o.ts_val);
	CU_ASSERT_EQUAL(c->snd_una, iss + 101);
	CU_ASSERT_EQUAL(c->srtt_us, (7 * s0 + 30000) / 8);
	CU_ASSERT_EQUAL(tcp_send(c, pattern, 10), 10);
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.ts_val, 24u); /* wrapped */
	stop();
}

static const struct cunit_test tests[] = {
    {"RTO: retransmit with exponential backoff", test_rto_backoff},
    {"RTO: abort after max retries", test_rto_gives_up},
    {"RTT estimate (RFC 6298)", test_rtt_estimate},
    {"fast retransmit and NewReno recovery", test_fast_retransmit},
    {"zero-window probes with backoff", test_zero_window_probe},
    {"SYN-ACK retransmitted, half-open given up", test_synack_retries},
    {"keepalive probes and abort", test_keepalive},
    {"idle timeout closes", test_idle_timeout},
    {"close timeout frees FIN-WAIT-2", test_fin_timeout},
    {"timers of many connections", test_many_connections_timers},
    {"zero-copy data retransmitted byte-exact", test_zero_copy_retransmit},
    {"a small window does not stall the sender", test_small_window_not_stuck},
    {"timestamps: RTT from TSecr on the ACK of a resent segment", test_ts_rtt_after_retransmit},
    {"timestamps: samples weighted by the flight (RFC 7323 G)", test_ts_rtt_weighted},
    {"timestamps: RTT across the wrap of our TSval clock", test_ts_rtt_wrap},
    {NULL, NULL},
};

static int suite_init(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 13 + (i >> 9));
	return tcp_util_eal_init("test_tcp_timers");
}

static int suite_cleanup(void)
{
	return tcp_util_eal_cleanup();
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("tcp_timers", suite_init, suite_cleanup, tests) < 0)
		return 1;
	return cunit_tap_run();
}
