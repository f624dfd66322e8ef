/*
 * Setup, the connection table, TIME-WAIT records and the application's calls.
 *
 * Connections come from one fixed pool; a slot is found by hashing the remote
 * address and port (the local ones are the worker's own) into a chained table
 * of slot numbers. Freeing is deferred while a connection is inside one of
 * the application's callbacks (TCP_CF_BUSY), so a callback may close or abort
 * the connection it was called for.
 */
#include <errno.h>
#include <string.h>

#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "tcp_internal.h"

void tcp_config_defaults(struct tcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 11211;
	cfg->mss = 1460;
	cfg->max_conns = 1024;
	cfg->syn_backlog = 256;
	cfg->rcv_buf = 256 * 1024;
	cfg->snd_buf = 256 * 1024;
	cfg->delack_us = 40 * 1000;
	cfg->rto_init_us = 1000 * 1000;
	cfg->rto_min_us = 200 * 1000;
	cfg->rto_max_us = 60 * 1000 * 1000;
	cfg->max_retries = 15;
	cfg->syn_retries = 5;
	cfg->keepalive_intvl_us = 75ull * 1000 * 1000;
	cfg->keepalive_probes = 9;
	cfg->time_wait_us = 60ull * 1000 * 1000;
	cfg->fin_timeout_us = 60ull * 1000 * 1000;
	cfg->socket_id = SOCKET_ID_ANY;
	cfg->challenge_ack_limit = 1000;
}

void tcp_counters_add(struct tcp_counters *sum, const struct tcp_counters *src)
{
#define TCP_COUNTER_ADD(name, desc) sum->name += tcp_counter_read(&src->name);
	TCP_COUNTERS(TCP_COUNTER_ADD)
#undef TCP_COUNTER_ADD
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

static void *zalloc(const char *what, size_t size, int socket)
{
	return rte_zmalloc_socket(what, size, RTE_CACHE_LINE_SIZE, socket);
}

int tcp_worker_setup(struct tcp_worker *w, const struct tcp_config *cfg, struct rte_mempool *pool)
{
	uint32_t nb, i;

	memset(w, 0, sizeof(*w));
	if (cfg->max_conns == 0 || cfg->max_conns >= (1u << 24) || cfg->mss < 64 ||
	    cfg->rcv_buf < cfg->mss || cfg->snd_buf == 0 || pool == NULL || cfg->port == 0)
		return -EINVAL;
	w->cfg = *cfg;
	w->pool = pool;
	if (w->cfg.rcv_max_mbufs == 0)
		w->cfg.rcv_max_mbufs = w->cfg.rcv_buf / 512 + 16;
	if (w->cfg.time_wait_max == 0)
		w->cfg.time_wait_max = w->cfg.max_conns;
	if (w->cfg.rto_min_us == 0)
		w->cfg.rto_min_us = 1000;
	if (w->cfg.rto_max_us < w->cfg.rto_min_us)
		w->cfg.rto_max_us = w->cfg.rto_min_us;
	while (w->rcv_wscale < TCP_MAX_WSCALE && (w->cfg.rcv_buf >> w->rcv_wscale) > 65535)
		w->rcv_wscale++;
	if (!(w->cfg.cookie_secret[0] | w->cfg.cookie_secret[1] | w->cfg.cookie_secret[2] |
	      w->cfg.cookie_secret[3]))
		for (i = 0; i < 4; i++)
			w->cfg.cookie_secret[i] = (uint32_t)rte_rand();

	nb = pow2_at_least(2 * w->cfg.max_conns);
	w->conns = zalloc("tcp_conns", sizeof(*w->conns) * w->cfg.max_conns, cfg->socket_id);
	w->buckets = zalloc("tcp_buckets", sizeof(uint32_t) * nb, cfg->socket_id);
	w->bucket_mask = nb - 1;
	w->tw_cap = w->cfg.time_wait_max;
	nb = pow2_at_least(2 * w->tw_cap);
	w->tw = zalloc("tcp_tw", sizeof(*w->tw) * w->tw_cap, cfg->socket_id);
	w->tw_buckets = zalloc("tcp_tw_buckets", sizeof(uint32_t) * nb, cfg->socket_id);
	w->tw_mask = nb - 1;
	if (w->conns == NULL || w->buckets == NULL || w->tw == NULL || w->tw_buckets == NULL) {
		tcp_worker_teardown(w);
		return -ENOMEM;
	}
	memset(w->buckets, 0xff, sizeof(uint32_t) * (w->bucket_mask + 1));
	memset(w->tw_buckets, 0xff, sizeof(uint32_t) * (w->tw_mask + 1));
	for (i = 0; i < w->cfg.max_conns; i++) {
		w->conns[i].id = i;
		w->conns[i].hnext = i + 1 < w->cfg.max_conns ? i + 1 : TCP_NONE;
		w->conns[i].w = w;
	}
	w->free_head = 0;
	w->nfree = w->cfg.max_conns;
	return 0;
}

static void free_list(struct rte_mbuf *m)
{
	while (m != NULL) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
}

static void conn_free_buffers(struct tcp_conn *c)
{
	free_list(c->rcv_head);
	free_list(c->ooo_head);
	free_list(c->snd_head);
	c->rcv_head = c->rcv_tail = c->ooo_head = c->snd_head = c->snd_tail = c->cur_m = NULL;
	c->rcv_bytes = c->rcv_mbufs = c->ooo_bytes = c->ooo_mbufs = c->snd_bytes = 0;
	c->rcv_off = c->snd_off = 0;
}

void tcp_worker_teardown(struct tcp_worker *w)
{
	if (w->conns != NULL)
		for (uint32_t i = 0; i < w->cfg.max_conns; i++)
			conn_free_buffers(&w->conns[i]);
	if (w->tx.n > 0)
		rte_pktmbuf_free_bulk(w->tx.pkts, w->tx.n);
	w->tx.n = 0;
	rte_free(w->conns);
	rte_free(w->buckets);
	rte_free(w->tw);
	rte_free(w->tw_buckets);
	w->conns = NULL;
	w->buckets = w->tw_buckets = NULL;
	w->tw = NULL;
}

static inline uint32_t peer_hash(const struct tcp_worker *w, uint32_t rip, uint16_t rport)
{
	return rte_jhash_2words(rip, rport, w->cfg.cookie_secret[3]);
}

struct tcp_conn *conn_lookup(struct tcp_worker *w, uint32_t rip, uint16_t rport)
{
	uint32_t i = w->buckets[peer_hash(w, rip, rport) & w->bucket_mask];

	while (i != TCP_NONE) {
		struct tcp_conn *c = &w->conns[i];

		if (c->rip == rip && c->rport == rport)
			return c;
		i = c->hnext;
	}
	return NULL;
}

struct tcp_conn *conn_alloc(struct tcp_worker *w, const struct tcp_seg *s)
{
	struct tcp_conn *c;
	uint32_t b;

	if (w->free_head == TCP_NONE)
		return NULL;
	c = &w->conns[w->free_head];
	w->free_head = c->hnext;
	w->nfree--;
	memset((uint8_t *)c + offsetof(struct tcp_conn, rip), 0,
	       offsetof(struct tcp_conn, w) - offsetof(struct tcp_conn, rip));
	c->rip = s->ip->src_addr;
	c->rport = s->th->src_port;
	c->peer_mac = s->eth->src_addr;
	c->rto_us = w->cfg.rto_init_us;
	c->last_rx_us = w->now_us;
	b = peer_hash(w, c->rip, c->rport) & w->bucket_mask;
	c->hnext = w->buckets[b];
	w->buckets[b] = c->id;
	return c;
}

static void conn_unhash(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;
	uint32_t *p = &w->buckets[peer_hash(w, c->rip, c->rport) & w->bucket_mask];

	while (*p != TCP_NONE && *p != c->id)
		p = &w->conns[*p].hnext;
	if (*p == c->id)
		*p = c->hnext;
}

static void pending_remove(struct tcp_conn *c)
{
	struct tcp_conn **p = &c->w->pend_head;

	if (!(c->flags & TCP_CF_PENDING))
		return;
	while (*p != NULL && *p != c)
		p = &(*p)->pend_next;
	if (*p == c)
		*p = c->pend_next;
	c->flags &= ~TCP_CF_PENDING;
	c->pend_next = NULL;
}

void conn_mark_pending(struct tcp_conn *c)
{
	if (c->flags & TCP_CF_PENDING)
		return;
	c->flags |= TCP_CF_PENDING;
	c->pend_next = c->w->pend_head;
	c->w->pend_head = c;
}

void conn_release(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;

	/* Before the state goes: a release deferred while busy sees CLOSED. */
	if (c->state == TCP_SYN_RECEIVED)
		tcp_count(&w->ctr.half_open, -1);
	if (c->flags & TCP_CF_BUSY) {
		c->flags |= TCP_CF_DEAD;
		c->state = TCP_CLOSED;
		return;
	}
	if (c->flags & TCP_CF_OPENED)
		tcp_count(&w->ctr.curr_connections, -1);
	conn_free_buffers(c);
	conn_timer_cancel(c);
	pending_remove(c);
	conn_unhash(c);
	c->state = TCP_CLOSED;
	c->flags = 0;
	c->user = NULL;
	c->hnext = w->free_head;
	w->free_head = c->id;
	w->nfree++;
}

/* Call one application callback with the connection marked busy. */
static void app_call(struct tcp_conn *c, void (*fn)(struct tcp_conn *, void *))
{
	uint8_t was_busy = c->flags & TCP_CF_BUSY;

	if (fn == NULL)
		return;
	c->flags |= TCP_CF_BUSY;
	fn(c, c->w->cfg.app.ctx);
	if (!was_busy)
		c->flags &= ~TCP_CF_BUSY;
}

void conn_finish(struct tcp_conn *c, int error)
{
	if (c->state == TCP_CLOSED)
		return;
	c->error = (int8_t)error;
	if (c->state == TCP_SYN_RECEIVED) {
		conn_release(c);
		return;
	}
	c->state = TCP_CLOSED;
	if (c->flags & TCP_CF_OPENED) {
		tcp_count(&c->w->ctr.curr_connections, -1);
		c->flags &= ~TCP_CF_OPENED;
		app_call(c, c->w->cfg.app.on_close);
	}
	conn_release(c);
}

void conn_establish(struct tcp_conn *c)
{
	struct tcp_worker *w = c->w;

	if (c->state == TCP_SYN_RECEIVED)
		tcp_count(&w->ctr.half_open, -1);
	c->state = TCP_ESTABLISHED;
	c->flags |= TCP_CF_OPENED;
	tcp_count(&w->ctr.curr_connections, 1);
	tcp_count(&w->ctr.total_connections, 1);
	app_call(c, w->cfg.app.on_open);
}

void conn_app_data(struct tcp_conn *c)
{
	app_call(c, c->w->cfg.app.on_data);
}

void conn_check_writable(struct tcp_conn *c)
{
	if (!(c->flags2 & TCP_CF2_WANT_WRITABLE) || c->state == TCP_CLOSED)
		return;
	if (tcp_send_space(c) < c->w->cfg.snd_buf / 2)
		return;
	c->flags2 &= ~TCP_CF2_WANT_WRITABLE;
	app_call(c, c->w->cfg.app.on_writable);
}

void conn_enter_time_wait(struct tcp_conn *c)
{
	if (c->w->cfg.time_wait_us > 0)
		tw_add(c->w, c);
	conn_finish(c, 0);
}

/*
 * Receiver-side silly window avoidance (RFC 1122 4.2.3.3): the right edge
 * only moves when it can move by min(rcv_buf / 2, MSS); it never moves left.
 */
uint32_t rcv_window(const struct tcp_conn *c)
{
	const struct tcp_config *cfg = &c->w->cfg;
	uint32_t used = c->rcv_bytes;
	uint32_t space = used < cfg->rcv_buf ? cfg->rcv_buf - used : 0;
	uint32_t cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t step = RTE_MIN(cfg->rcv_buf / 2, (uint32_t)cfg->mss);
	uint32_t max = 65535u << c->rcv_wscale;

	if (c->rcv_mbufs + c->ooo_mbufs >= cfg->rcv_max_mbufs)
		space = 0; /* out of mbufs: do not invite more data */
	if (space < cur + step)
		space = cur;
	return RTE_MIN(space, max);
}

uint32_t sendq_fin_seq(const struct tcp_conn *c)
{
	return c->snd_una + c->snd_bytes;
}

void sendq_drop_acked(struct tcp_conn *c, uint32_t n)
{
	n = RTE_MIN(n, c->snd_bytes);
	c->snd_bytes -= n;
	while (n > 0 && c->snd_head != NULL) {
		struct rte_mbuf *m = c->snd_head;
		uint32_t avail = m->data_len - c->snd_off;

		if (n < avail) {
			c->snd_off += n;
			break;
		}
		n -= avail;
		c->snd_head = m->next;
		c->snd_off = 0;
		if (c->cur_m == m)
			c->cur_m = NULL;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	if (c->snd_head == NULL) {
		c->snd_tail = NULL;
		c->flags2 &= ~TCP_CF2_TAIL_OWNED;
	}
}

/* --- TIME-WAIT records --- */

static uint32_t *tw_chain(struct tcp_worker *w, uint32_t rip, uint16_t rport)
{
	return &w->tw_buckets[peer_hash(w, rip, rport) & w->tw_mask];
}

struct tcp_tw *tw_lookup(struct tcp_worker *w, uint32_t rip, uint16_t rport)
{
	uint32_t i = *tw_chain(w, rip, rport);

	while (i != TCP_NONE) {
		struct tcp_tw *tw = &w->tw[i];

		if (tw->rip == rip && tw->rport == rport)
			return tw;
		i = tw->hnext;
	}
	return NULL;
}

void tw_remove(struct tcp_worker *w, struct tcp_tw *tw)
{
	uint32_t idx = (uint32_t)(tw - w->tw);
	uint32_t *p = tw_chain(w, tw->rip, tw->rport);

	if (!tw->live)
		return;
	while (*p != TCP_NONE && *p != idx)
		p = &w->tw[*p].hnext;
	if (*p == idx)
		*p = tw->hnext;
	tw->live = 0;
	tcp_count(&w->ctr.time_wait, -1);
}

/* Records expire in the order they were made (one duration for all): a ring. */
static void tw_pop(struct tcp_worker *w)
{
	tw_remove(w, &w->tw[w->tw_head]);
	w->tw_head = (w->tw_head + 1) % w->tw_cap;
	w->tw_count--;
}

void tw_add(struct tcp_worker *w, const struct tcp_conn *c)
{
	struct tcp_tw *tw;
	uint32_t idx, *chain;

	if (w->tw_count == w->tw_cap) {
		if (w->tw[w->tw_head].live)
			tcp_count(&w->ctr.time_wait_recycled, 1);
		tw_pop(w);
	}
	idx = (w->tw_head + w->tw_count) % w->tw_cap;
	tw = &w->tw[idx];
	tw->rip = c->rip;
	tw->rport = c->rport;
	tw->snd_nxt = c->snd_max;
	tw->rcv_nxt = c->rcv_nxt;
	tw->peer_mac = c->peer_mac;
	tw->expire_us = w->now_us + w->cfg.time_wait_us;
	tw->ts_ok = !!(c->flags2 & TCP_CF2_TS);
	tw->ts_recent = c->ts_recent;
	tw->live = 1;
	chain = tw_chain(w, tw->rip, tw->rport);
	tw->hnext = *chain;
	*chain = idx;
	w->tw_count++;
	tcp_count(&w->ctr.time_wait, 1);
}

void tw_expire(struct tcp_worker *w)
{
	while (w->tw_count > 0 &&
	       (!w->tw[w->tw_head].live || w->tw[w->tw_head].expire_us <= w->now_us))
		tw_pop(w);
}

/* --- the application's calls --- */

uint32_t tcp_recv_avail(const struct tcp_conn *c)
{
	return c->rcv_bytes;
}

int tcp_recv_peek(const struct tcp_conn *c, struct tcp_iov *iov, int max)
{
	const struct rte_mbuf *m = c->rcv_head;
	uint32_t off = c->rcv_off;
	int n = 0;

	for (; m != NULL && n < max; m = m->next, off = 0) {
		if (m->data_len <= off)
			continue;
		iov[n].base = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
		iov[n].len = m->data_len - off;
		n++;
	}
	return n;
}

static int conn_receiving(const struct tcp_conn *c)
{
	return c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
	       c->state == TCP_FIN_WAIT_2;
}

void tcp_recv_consume(struct tcp_conn *c, uint32_t n)
{
	uint32_t step;

	n = RTE_MIN(n, c->rcv_bytes);
	c->rcv_bytes -= n;
	while (n > 0) {
		struct rte_mbuf *m = c->rcv_head;
		uint32_t avail = m->data_len - c->rcv_off;

		if (n < avail) {
			c->rcv_off += n;
			break;
		}
		n -= avail;
		c->rcv_head = m->next;
		c->rcv_off = 0;
		c->rcv_mbufs--;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	if (c->rcv_head == NULL)
		c->rcv_tail = NULL;
	if (!conn_receiving(c) || (c->flags & TCP_CF_FIN_RCVD))
		return;
	/* Tell the peer when the window opened by a worthwhile amount. */
	step = RTE_MIN(c->w->cfg.rcv_buf / 2, 2u * c->w->cfg.mss);
	if ((uint32_t)(c->rcv_nxt + rcv_window(c) - c->rcv_adv) >= step &&
	    SEQ_GT(c->rcv_nxt + rcv_window(c), c->rcv_adv)) {
		c->flags |= TCP_CF_ACK_NOW;
		conn_mark_pending(c);
	}
}

int tcp_peer_closed(const struct tcp_conn *c)
{
	return !!(c->flags & TCP_CF_FIN_RCVD);
}

uint32_t tcp_send_space(const struct tcp_conn *c)
{
	uint32_t lim = c->w->cfg.snd_buf;

	return c->snd_bytes < lim ? lim - c->snd_bytes : 0;
}

static int conn_can_send(const struct tcp_conn *c)
{
	return (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT) &&
	       !(c->flags & TCP_CF_FIN_QUEUED);
}

static void sendq_link(struct tcp_conn *c, struct rte_mbuf *m)
{
	if (c->snd_tail == NULL)
		c->snd_head = m;
	else
		c->snd_tail->next = m;
	c->snd_tail = m;
}

int tcp_send(struct tcp_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t space, want, done = 0;

	if (!conn_can_send(c))
		return -EPIPE;
	space = tcp_send_space(c);
	if (space == 0 && len > 0) {
		c->flags2 |= TCP_CF2_WANT_WRITABLE;
		return -EAGAIN;
	}
	want = (uint32_t)RTE_MIN(len, (size_t)space);
	while (done < want) {
		struct rte_mbuf *m = c->snd_tail;
		uint32_t room, chunk;

		if (m == NULL || !(c->flags2 & TCP_CF2_TAIL_OWNED) ||
		    rte_pktmbuf_tailroom(m) == 0) {
			m = rte_pktmbuf_alloc(c->w->pool);
			if (m == NULL) {
				tcp_count(&c->w->ctr.alloc_failed, 1);
				break;
			}
			m->data_off = 0; /* payload only: no headroom needed */
			sendq_link(c, m);
			c->flags2 |= TCP_CF2_TAIL_OWNED;
		}
		room = rte_pktmbuf_tailroom(m);
		chunk = RTE_MIN(room, want - done);
		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, m->data_len), p + done, chunk);
		m->data_len += chunk;
		m->pkt_len = m->data_len;
		done += chunk;
	}
	if (done == 0 && want > 0)
		return -ENOBUFS;
	c->snd_bytes += done;
	if (done < len)
		c->flags2 |= TCP_CF2_WANT_WRITABLE;
	if (done > 0)
		conn_mark_pending(c);
	return (int)done;
}

int tcp_send_mbuf(struct tcp_conn *c, struct rte_mbuf *payload)
{
	uint32_t total = 0;

	if (!conn_can_send(c))
		return -EPIPE;
	if (tcp_send_space(c) == 0) {
		c->flags2 |= TCP_CF2_WANT_WRITABLE;
		return -EAGAIN;
	}
	while (payload != NULL) {
		struct rte_mbuf *next = payload->next;

		payload->next = NULL;
		payload->nb_segs = 1;
		payload->pkt_len = payload->data_len;
		if (payload->data_len == 0) {
			rte_pktmbuf_free_seg(payload);
		} else {
			total += payload->data_len;
			sendq_link(c, payload);
		}
		payload = next;
	}
	c->flags2 &= ~TCP_CF2_TAIL_OWNED; /* the caller's memory: never append to it */
	c->snd_bytes += total;
	conn_mark_pending(c);
	return 0;
}

void tcp_want_writable(struct tcp_conn *c)
{
	c->flags2 |= TCP_CF2_WANT_WRITABLE;
}

void tcp_close(struct tcp_conn *c)
{
	if (!conn_can_send(c))
		return;
	c->flags |= TCP_CF_FIN_QUEUED;
	c->close_at_us = c->w->now_us;
	c->state = c->state == TCP_ESTABLISHED ? TCP_FIN_WAIT_1 : TCP_LAST_ACK;
	/* Nobody reads any more: what is buffered or arrives later is discarded. */
	tcp_recv_consume(c, c->rcv_bytes);
	conn_mark_pending(c);
	if (c->w->cfg.fin_timeout_us > 0)
		conn_timer_arm(c, c->close_at_us + c->w->cfg.fin_timeout_us);
}

void tcp_abort(struct tcp_conn *c)
{
	if (c->state == TCP_CLOSED)
		return;
	conn_send_rst(c);
	conn_finish(c, -ECONNABORTED);
}
