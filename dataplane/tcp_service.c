#include "tcp_service.h"

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "net/net_counters.h"

static struct tcp_mc_conn *mc_of(struct tcp_service *svc, const struct tcp_conn *c)
{
	return &svc->conns[tcp_conn_id(c)];
}

/* ---- the reply: proto_out segments that are payload mbufs ---- */

#define POOL_CHECK_EVERY 32 /* segments between two looks at the pool's level */

static void seg_use(struct proto_out *o, struct rte_mbuf *m)
{
	o->buf = rte_pktmbuf_mtod(m, char *);
	o->cap = m->buf_len;
}

/* The current segment is full: the next mbuf. A pool running low pauses the reply. */
static int seg_next(struct proto_out *o)
{
	struct tcp_service *svc = o->segs->ctx;
	struct rte_mbuf *m;

	if ((o->seg + 1) % POOL_CHECK_EVERY == 0 &&
	    rte_mempool_avail_count(svc->pool) < svc->pool_reserve) {
		svc->pool_low = 1;
		o->limit = 1; /* stop at the next key */
	}
	m = rte_pktmbuf_alloc(svc->pool);
	if (m == NULL) {
		net_count(&svc->ctr.tcp_reply_nobufs, 1);
		return -ENOBUFS;
	}
	m->data_off = 0; /* payload only: the engine builds headers in mbufs of its own */
	if (svc->out_tail != NULL) {
		svc->out_tail->data_len = (uint16_t)o->used;
		svc->out_tail->next = m;
	} else {
		svc->out_head = m;
	}
	svc->out_tail = m;
	seg_use(o, m);
	return 0;
}

/* Free the mbufs after `m` (all of them if m is NULL). */
static void seg_free_after(struct tcp_service *svc, struct rte_mbuf *m)
{
	struct rte_mbuf *rest = m != NULL ? m->next : svc->out_head;

	if (m != NULL)
		m->next = NULL;
	else
		svc->out_head = NULL;
	svc->out_tail = m;
	while (rest != NULL) {
		struct rte_mbuf *next = rest->next;

		rest->next = NULL;
		rte_pktmbuf_free_seg(rest);
		rest = next;
	}
}

/* An optimistic read retried across segments: back to segment `seg`. */
static void seg_back(struct proto_out *o, unsigned seg)
{
	struct tcp_service *svc = o->segs->ctx;
	struct rte_mbuf *m = NULL;

	if (seg > 0)
		for (m = svc->out_head; --seg > 0; m = m->next)
			;
	seg_free_after(svc, m);
	if (m != NULL)
		seg_use(o, m);
	else
		o->buf = NULL, o->cap = 0;
}

/* A fresh reply that should stop (between keys) once it holds `limit` bytes. */
static struct proto_out *reply_begin(struct tcp_service *svc, uint32_t limit)
{
	proto_out_init_segmented(&svc->out, &svc->segs);
	svc->out.limit = limit;
	return &svc->out;
}

/* Hand the reply's chain to the engine (it takes ownership), or drop it. */
static int reply_flush(struct tcp_service *svc, struct tcp_conn *c, int send)
{
	struct rte_mbuf *head = svc->out_head;

	if (head == NULL)
		return 0;
	svc->out_tail->data_len = (uint16_t)svc->out.used;
	svc->out_head = svc->out_tail = NULL;
	if (send) {
		net_count(&svc->ctr.tcp_reply_bytes, svc->out.total);
		if (tcp_send_mbuf(c, head) == 0)
			return 0;
	}
	while (head != NULL) {
		struct rte_mbuf *next = head->next;

		head->next = NULL;
		rte_pktmbuf_free_seg(head);
		head = next;
	}
	return send ? -EPIPE : 0;
}

/* ---- serving a connection ---- */

static void conn_done(struct tcp_service *svc, struct tcp_conn *c, struct tcp_mc_conn *mc)
{
	mc->open = 0;
	process_conn_close(&svc->pw, &mc->pc);
	tcp_close(c);
}

static void starve(struct tcp_service *svc, struct tcp_conn *c, struct tcp_mc_conn *mc)
{
	if (mc->starved)
		return;
	mc->starved = 1;
	svc->starved[svc->nstarved++] = tcp_conn_id(c);
	net_count(&svc->ctr.tcp_pool_waits, 1);
}

/*
 * Run the connection's received bytes a line at a time (a line holds at most
 * one request) into one reply, until the input runs out or the reply fills
 * the free send space; then send it. A multiget that pauses keeps its line
 * unconsumed (its keys point into it) and resumes first next time.
 */
static void serve(struct tcp_service *svc, struct tcp_conn *c)
{
	struct tcp_mc_conn *mc = mc_of(svc, c);
	enum process_status st = PROCESS_OK;
	struct proto_out *o;
	struct tcp_iov in[1];
	uint32_t space;

	if (!mc->open)
		return;
	if (svc->pool_low) {
		starve(svc, c, mc);
		return; /* tcp_service_retry brings us back */
	}
	space = tcp_send_space(c);
	if (space == 0) {
		net_count(&svc->ctr.tcp_backpressure, 1);
		tcp_want_writable(c);
		return; /* on_writable brings us back */
	}
	o = reply_begin(svc, space);
	if (mc->pc.paused) {
		st = process_resume(&svc->pw, &mc->pc, svc->now, o);
		if (st != PROCESS_PAUSED) {
			tcp_recv_consume(c, mc->paused_len);
			mc->paused_len = 0;
		}
	}
	while (st == PROCESS_OK && !proto_out_paused(o) && tcp_recv_peek(c, in, 1) > 0) {
		const uint8_t *nl = memchr(in[0].base, '\n', in[0].len);
		uint32_t len = nl != NULL ? (uint32_t)(nl - in[0].base + 1) : in[0].len;

		st = process_input(&svc->pw, &mc->pc, (const char *)in[0].base, len, svc->now, o);
		net_count(&svc->ctr.tcp_requests_bytes, len);
		if (st == PROCESS_PAUSED)
			mc->paused_len = len - (uint32_t)mc->pc.paused_rest;
		else
			tcp_recv_consume(c, len);
	}
	if (reply_flush(svc, c, o->error == 0) < 0 || st == PROCESS_CLOSE) {
		conn_done(svc, c, mc);
		return;
	}
	if (st == PROCESS_PAUSED || proto_out_paused(o)) {
		if (st == PROCESS_PAUSED)
			net_count(&svc->ctr.tcp_reply_pauses, 1);
		if (svc->pool_low)
			starve(svc, c, mc);
		else
			tcp_want_writable(c);
		return;
	}
	if (tcp_recv_avail(c) == 0 && tcp_peer_closed(c))
		conn_done(svc, c, mc);
}

void tcp_service_retry(struct tcp_service *svc)
{
	uint32_t n = svc->nstarved;

	svc->pool_low = rte_mempool_avail_count(svc->pool) < svc->pool_reserve;
	if (svc->pool_low || n == 0)
		return;
	svc->nstarved = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct tcp_conn *c = &svc->tw.conns[svc->starved[i]];
		struct tcp_mc_conn *mc = &svc->conns[svc->starved[i]];

		mc->starved = 0;
		if (mc->open)
			serve(svc, c);
	}
}

static void on_open(struct tcp_conn *c, void *ctx)
{
	struct tcp_service *svc = ctx;
	struct tcp_mc_conn *mc = mc_of(svc, c);
	struct proto_config pcfg = {.item_size_max = svc->item_size_max};

	process_conn_init(&mc->pc, &pcfg);
	mc->open = 1;
	mc->starved = 0;
	mc->paused_len = 0;
}

static void on_data(struct tcp_conn *c, void *ctx)
{
	serve(ctx, c);
}

static void on_close(struct tcp_conn *c, void *ctx)
{
	struct tcp_service *svc = ctx;
	struct tcp_mc_conn *mc = mc_of(svc, c);

	if (mc->open)
		process_conn_close(&svc->pw, &mc->pc);
	mc->open = 0;
}

static void service_free(struct tcp_service *svc)
{
	rte_free(svc->conns);
	rte_free(svc->starved);
	svc->conns = NULL;
	svc->starved = NULL;
}

int tcp_service_setup(struct tcp_service *svc, struct tcp_config *cfg, struct store *store,
		      unsigned int tid, uint32_t item_size_max, struct rte_mempool *pool)
{
	int rc;

	memset(&svc->ctr, 0, sizeof(svc->ctr));
	svc->pool = pool;
	svc->item_size_max = item_size_max;
	svc->segs = (struct proto_out_segments){.next = seg_next, .back = seg_back, .ctx = svc};
	svc->out_head = svc->out_tail = NULL;
	if (process_worker_init(&svc->pw, store, tid) < 0)
		return -EINVAL;
	svc->conns = rte_zmalloc_socket("tcp_mc_conns", sizeof(*svc->conns) * cfg->max_conns,
					RTE_CACHE_LINE_SIZE, cfg->socket_id);
	svc->starved = rte_malloc_socket("tcp_starved", sizeof(*svc->starved) * cfg->max_conns, 0,
					 cfg->socket_id);
	svc->nstarved = 0;
	svc->pool_low = 0;
	svc->pool_reserve = pool->size / 4;
	if (svc->conns == NULL || svc->starved == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	cfg->app = (struct tcp_app){.on_open = on_open, .on_data = on_data,
				    .on_writable = on_data, .on_close = on_close, .ctx = svc};
	rc = tcp_worker_setup(&svc->tw, cfg, pool);
	if (rc == 0)
		return 0;
fail:
	service_free(svc);
	return rc;
}

void tcp_service_teardown(struct tcp_service *svc)
{
	tcp_worker_teardown(&svc->tw);
	service_free(svc);
}

void tcp_service_counters_add(struct tcp_service_counters *sum, const struct tcp_service *svc)
{
#define TCP_SERVICE_ADD(name, desc) sum->name += net_counter_read(&svc->ctr.name);
	TCP_SERVICE_COUNTERS(TCP_SERVICE_ADD)
#undef TCP_SERVICE_ADD
}
