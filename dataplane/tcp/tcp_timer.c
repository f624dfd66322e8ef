/*
 * The per-worker timer wheel and what each connection does when its timer fires.
 *
 * A connection has one node in the wheel, scheduled at the earliest of its
 * deadlines (retransmission, persist, delayed ACK, idle/keepalive, close
 * timeout). Deadlines that move later (the RTO restarted by an ACK, the idle
 * clock reset by a segment) do not touch the wheel: the node fires early, the
 * handler finds nothing due and schedules the node again. Deadlines that move
 * earlier move the node. So the hot path does at most one list move per event.
 *
 * The wheel has TCP_WHEEL_SLOTS slots of TCP_WHEEL_TICK_US; a node further
 * away than one turn stays in its slot and is skipped until its tick comes.
 */
#include <errno.h>

#include "tcp_internal.h"

#define TM_DUE UINT64_MAX

static void slot_unlink(struct tcp_worker *w, struct tcp_conn *c)
{
	if (c->tm_prev != NULL)
		c->tm_prev->tm_next = c->tm_next;
	else
		w->slots[c->tm_tick & (TCP_WHEEL_SLOTS - 1)] = c->tm_next;
	if (c->tm_next != NULL)
		c->tm_next->tm_prev = c->tm_prev;
	c->tm_next = c->tm_prev = NULL;
	c->tm_tick = 0;
}

static void slot_link(struct tcp_worker *w, struct tcp_conn *c, uint64_t tick)
{
	struct tcp_conn **head = &w->slots[tick & (TCP_WHEEL_SLOTS - 1)];

	c->tm_tick = tick;
	c->tm_prev = NULL;
	c->tm_next = *head;
	if (*head != NULL)
		(*head)->tm_prev = c;
	*head = c;
}

void conn_timer_cancel(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;

	if (c->tm_tick == 0)
		return;
	if (c->tm_tick == TM_DUE) {
		struct tcp_conn **p = &w->due;

		while (*p != NULL && *p != c)
			p = &(*p)->tm_next;
		if (*p == c)
			*p = c->tm_next;
		c->tm_next = NULL;
		c->tm_tick = 0;
		return;
	}
	slot_unlink(w, c);
}

void conn_timer_arm(struct tcp_conn *c, uint64_t at_us)
{
	struct tcp_worker *w = c->w;
	uint64_t tick = (at_us + TCP_WHEEL_TICK_US - 1) / TCP_WHEEL_TICK_US;

	if (tick <= w->wheel_tick)
		tick = w->wheel_tick + 1;
	if (c->tm_tick == TM_DUE)
		return; /* being fired: the handler reschedules */
	if (c->tm_tick != 0) {
		if (c->tm_tick <= tick)
			return;
		slot_unlink(w, c);
	}
	slot_link(w, c, tick);
}

void conn_rto_arm(struct tcp_conn *c)
{
	c->rto_at = c->w->now_us + c->rto_us;
	conn_timer_arm(c, c->rto_at);
}

/*
 * RFC 6298 2.2-2.4, with the clock granularity G of one wheel tick. A sample
 * counts 1/per_rtt of a classic one (RFC 7323 appendix G: with timestamps
 * every ACK is a sample, per_rtt of them a round trip).
 */
void conn_rtt_sample(struct tcp_conn *c, uint32_t r, uint32_t per_rtt)
{
	const struct tcp_config *cfg = &c->w->cfg;
	uint64_t rto;

	if (r == 0)
		r = 1;
	if (c->srtt_us == 0) {
		c->srtt_us = r;
		c->rttvar_us = r / 2;
	} else {
		uint32_t delta = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
		uint64_t a = 8ull * per_rtt, b = 4ull * per_rtt;

		c->rttvar_us = (uint32_t)(((b - 1) * c->rttvar_us + delta) / b);
		c->srtt_us = (uint32_t)(((a - 1) * c->srtt_us + r) / a);
	}
	rto = c->srtt_us + RTE_MAX((uint64_t)TCP_WHEEL_TICK_US, 4 * (uint64_t)c->rttvar_us);
	rto = RTE_MAX(rto, (uint64_t)cfg->rto_min_us);
	c->rto_us = (uint32_t)RTE_MIN(rto, (uint64_t)cfg->rto_max_us);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return RTE_MIN(a, b);
}

/* When the idle, keepalive or close clock next needs a look (0: never). */
static uint64_t soft_deadline(const struct tcp_conn *c)
{
	const struct tcp_config *cfg = &c->w->cfg;
	uint64_t at = 0;

	if (c->state == TCP_SYN_RECEIVED)
		return 0;
	if (cfg->idle_timeout_us > 0 && !(c->flags & TCP_CF_FIN_QUEUED))
		at = earliest(at, c->last_rx_us + cfg->idle_timeout_us);
	if (cfg->keepalive_us > 0)
		at = earliest(at, c->last_rx_us + cfg->keepalive_us +
				      (uint64_t)c->probes * cfg->keepalive_intvl_us);
	if ((c->flags & TCP_CF_FIN_QUEUED) && cfg->fin_timeout_us > 0)
		at = earliest(at, c->close_at_us + cfg->fin_timeout_us);
	return at;
}

static void conn_timer_rearm(struct tcp_conn *c)
{
	uint64_t at = earliest(earliest(c->rto_at, c->persist_at), c->delack_at);

	at = earliest(at, soft_deadline(c));
	if (at != 0)
		conn_timer_arm(c, at);
}

static void conn_abort_timeout(struct tcp_conn *c)
{
	tcp_count(&c->w->ctr.timeouts, 1);
	conn_send_rst(c);
	conn_finish(c, -ETIMEDOUT);
}

/*
 * RFC 6298 5.4-5.7: resend the oldest segment, back the timer off, and start
 * over from snd_una with a window of one segment (RFC 5681 3.1).
 */
static int rto_expire(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;
	uint32_t flight = c->snd_max - c->snd_una;

	c->rto_at = 0;
	if (c->snd_una == c->snd_max)
		return 0;
	tcp_count(&w->ctr.rto_expired, 1);
	if (c->retries >= w->cfg.max_retries) {
		conn_abort_timeout(c);
		return -1;
	}
	c->retries++;
	c->ssthresh = RTE_MAX(flight / 2, 2u * c->mss);
	c->cwnd = c->mss;
	c->flags &= ~TCP_CF_RECOVERY;
	c->dupacks = 0;
	c->flags2 &= ~TCP_CF2_RTT; /* Karn: no sample from a resent segment */
	c->rto_us = (uint32_t)RTE_MIN((uint64_t)c->rto_us * 2, (uint64_t)w->cfg.rto_max_us);
	c->snd_nxt = c->snd_una;
	conn_retransmit_una(c);
	conn_rto_arm(c);
	return 0;
}

static void synack_expire(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;

	if (c->retries >= w->cfg.syn_retries) {
		conn_release(c);
		return;
	}
	c->retries++;
	c->rto_us = (uint32_t)RTE_MIN((uint64_t)c->rto_us * 2, (uint64_t)w->cfg.rto_max_us);
	if (conn_send_synack(c) == 0)
		tcp_count(&w->ctr.retransmits, 1);
	conn_rto_arm(c);
}

static void persist_expire(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;
	uint64_t ivl;

	c->persist_at = 0;
	if (c->snd_una != c->snd_max) {
		c->persist_backoff = 0;
		return;
	}
	if (c->snd_wnd != 0) { /* a small window: use it */
		c->persist_backoff = 0;
		conn_output_force(c);
		return;
	}
	tcp_count(&w->ctr.zero_window_probes, 1);
	conn_send_probe(c);
	if (c->persist_backoff < 16)
		c->persist_backoff++;
	ivl = (uint64_t)RTE_MAX(c->rto_us, w->cfg.rto_min_us) << c->persist_backoff;
	c->persist_at = w->now_us + RTE_MIN(ivl, (uint64_t)w->cfg.rto_max_us);
}

/* Idle timeout, keepalive and the close timeout; -1 when the connection is gone. */
static int soft_expire(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;
	const struct tcp_config *cfg = &w->cfg;
	uint64_t now = w->now_us;

	if ((c->flags & TCP_CF_FIN_QUEUED) && cfg->fin_timeout_us > 0 &&
	    now >= c->close_at_us + cfg->fin_timeout_us) {
		conn_abort_timeout(c);
		return -1;
	}
	if (cfg->idle_timeout_us > 0 && !(c->flags & TCP_CF_FIN_QUEUED) &&
	    now >= c->last_rx_us + cfg->idle_timeout_us) {
		tcp_count(&w->ctr.idle_timeouts, 1);
		c->flags2 |= TCP_CF2_IDLE_CLOSED;
		tcp_close(c);
		if (!(c->flags & TCP_CF_FIN_QUEUED)) { /* could not close gracefully */
			conn_send_rst(c);
			conn_finish(c, -ETIMEDOUT);
			return -1;
		}
		conn_output(c);
	}
	if (cfg->keepalive_us > 0 && now >= c->last_rx_us + cfg->keepalive_us +
						(uint64_t)c->probes * cfg->keepalive_intvl_us) {
		if (c->probes >= cfg->keepalive_probes) {
			conn_abort_timeout(c);
			return -1;
		}
		c->probes++;
		tcp_count(&w->ctr.keepalive_probes, 1);
		conn_send_probe(c);
	}
	return 0;
}

static void conn_timer_fire(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;
	uint64_t now = w->now_us;

	if (c->state == TCP_CLOSED)
		return;
	c->flags |= TCP_CF_BUSY;
	if (c->state == TCP_SYN_RECEIVED) {
		c->flags &= ~TCP_CF_BUSY;
		if (c->rto_at != 0 && now >= c->rto_at)
			synack_expire(c);
		if (c->state == TCP_SYN_RECEIVED)
			conn_timer_rearm(c);
		return;
	}
	if (c->rto_at != 0 && now >= c->rto_at && rto_expire(c) < 0)
		goto out;
	if (c->persist_at != 0 && now >= c->persist_at)
		persist_expire(c);
	if (c->delack_at != 0 && now >= c->delack_at) {
		tcp_count(&w->ctr.delayed_acks, 1);
		conn_send_ack(c);
	}
	if (soft_expire(c) < 0)
		goto out;
out:
	c->flags &= ~TCP_CF_BUSY;
	if (c->flags & TCP_CF_DEAD) {
		conn_release(c);
		return;
	}
	if (c->state != TCP_CLOSED)
		conn_timer_rearm(c);
}

void tcp_timers_run(struct tcp_worker *w, uint64_t now_us)
{
	uint64_t target = now_us / TCP_WHEEL_TICK_US;

	if (now_us > w->now_us)
		w->now_us = now_us;
	if (target > w->wheel_tick && target - w->wheel_tick > TCP_WHEEL_SLOTS)
		w->wheel_tick = target > TCP_WHEEL_SLOTS ? target - TCP_WHEEL_SLOTS : 0;
	while (w->wheel_tick < target) {
		uint32_t slot = (uint32_t)(++w->wheel_tick & (TCP_WHEEL_SLOTS - 1));
		struct tcp_conn *c = w->slots[slot];

		w->slots[slot] = NULL;
		/* Due nodes move to w->due, the rest go back to their slot. */
		while (c != NULL) {
			struct tcp_conn *next = c->tm_next;

			if (c->tm_tick <= target) {
				c->tm_tick = TM_DUE;
				c->tm_prev = NULL;
				c->tm_next = w->due;
				w->due = c;
			} else {
				slot_link(w, c, c->tm_tick);
			}
			c = next;
		}
		while (w->due != NULL) {
			c = w->due;
			w->due = c->tm_next;
			c->tm_next = NULL;
			c->tm_tick = 0;
			conn_timer_fire(c);
		}
	}
	tw_expire(w);
}
