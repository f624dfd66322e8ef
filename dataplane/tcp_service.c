#include "tcp_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* Free a list of segments linked by ->next (not an mbuf packet: no nb_segs). */
static void seg_free_list(struct rte_mbuf *m)
{
	while (m != NULL) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
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
	seg_free_list(rest);
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
	seg_free_list(head);
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
 * Run the connection's received bytes, a piece (mbuf) at a time, into one
 * reply until the input runs out or the reply fills the free send space (the
 * executor stops between requests then: PROCESS_YIELD); then send it. A
 * storage command whose line and value share a piece is stored in one step.
 * A multiget that pauses keeps its line unconsumed (its keys point into it)
 * and resumes first next time.
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
		uint32_t len = in[0].len;

		mc->last_cmd = svc->now;
		svc->serving = tcp_conn_id(c);
		st = process_input(&svc->pw, &mc->pc, (const char *)in[0].base, len, svc->now, o);
		svc->serving = -1;
		if (st == PROCESS_PAUSED || st == PROCESS_YIELD)
			len -= (uint32_t)mc->pc.paused_rest;
		net_count(&svc->ctr.tcp_requests_bytes, len);
		if (st == PROCESS_PAUSED) {
			mc->paused_len = len;
		} else {
			tcp_recv_consume(c, len);
			if (st == PROCESS_YIELD)
				st = PROCESS_OK; /* the reply is full: the loop ends */
		}
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

	/*
	 * Counting the pool walks every lcore's cache: hundreds of instructions.
	 * Sampled every 16th loop, and every loop while connections wait for
	 * it. A request that meets an empty pool in between pauses by itself
	 * and resumes when mbufs come back, as it would anyway.
	 */
	if (n == 0 && (++svc->retry_loops & 15) != 0)
		return;
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
	mc->last_cmd = svc->now;
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

/* ---- stats conns ---- */

static struct tcp_service *services[RTE_MAX_LCORE];

static void conn_stat(struct proto_out *out, uint64_t id, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void conn_stat(struct proto_out *out, uint64_t id, const char *name, const char *fmt, ...)
{
	char key[48], val[64];
	va_list ap;

	snprintf(key, sizeof(key), "%llu:%s", (unsigned long long)id, name);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	proto_compose_stat(out, key, val);
}

static void ip_str(uint32_t ip_be, char *buf)
{
	struct in_addr in = {.s_addr = ip_be};

	inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* memcached's state names, for what this connection is doing. */
static const char *conn_state_name(const struct tcp_service *svc, const struct tcp_mc_conn *mc,
				   uint32_t id)
{
	if (svc->serving == (int64_t)id)
		return "conn_parse_cmd";
	if (!mc->open)
		return "conn_closing";
	if (mc->pc.paused)
		return "conn_mwrite";
	if (mc->pc.pending)
		return "conn_nread";
	return "conn_read";
}

static void service_stats_conns(const struct tcp_service *svc, struct proto_out *out, uint32_t now,
				const char *local)
{
	uint32_t max = svc->tw.cfg.max_conns;

	if (svc->udp_port != 0) {
		uint64_t id = 1 + svc->index;

		conn_stat(out, id, "UDP", "UDP");
		conn_stat(out, id, "addr", "udp:%s:%u", local, svc->udp_port);
		conn_stat(out, id, "state", "conn_read");
		conn_stat(out, id, "secs_since_last_cmd", "%u", now - svc->started);
	}
	for (uint32_t i = 0; i < max; i++) {
		const struct tcp_conn *c = &svc->tw.conns[i];
		const struct tcp_mc_conn *mc = &svc->conns[i];
		uint64_t id = TCP_SERVICE_CONN_ID0 + (uint64_t)svc->index * max + i;
		char peer[INET_ADDRSTRLEN];
		uint8_t state = __atomic_load_n(&c->state, __ATOMIC_RELAXED);

		if (state == TCP_CLOSED || state == TCP_SYN_RECEIVED)
			continue;
		ip_str(c->rip, peer);
		conn_stat(out, id, "addr", "tcp:%s:%u", peer, rte_be_to_cpu_16(c->rport));
		conn_stat(out, id, "listen_addr", "tcp:%s:%u", local, svc->tw.cfg.port);
		conn_stat(out, id, "state", "%s", conn_state_name(svc, mc, i));
		conn_stat(out, id, "secs_since_last_cmd", "%u",
			  now > mc->last_cmd ? now - mc->last_cmd : 0);
	}
}

void tcp_service_stats_conns(void *ctx, struct proto_out *out, uint32_t now)
{
	char local[INET_ADDRSTRLEN];
	int listed = 0;

	(void)ctx;
	for (unsigned int i = 0; i < RTE_DIM(services); i++) {
		const struct tcp_service *svc = services[i];

		if (svc == NULL)
			continue;
		ip_str(svc->tw.cfg.local_ip, local);
		if (!listed) {
			conn_stat(out, 0, "addr", "tcp:%s:%u", local, svc->tw.cfg.port);
			conn_stat(out, 0, "state", "conn_listening");
			conn_stat(out, 0, "secs_since_last_cmd", "%u", now - svc->started);
			listed = 1;
		}
		service_stats_conns(svc, out, now, local);
	}
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
	if (rc == 0) {
		svc->index = tid;
		svc->started = (uint32_t)time(NULL);
		svc->serving = -1;
		if (tid < RTE_DIM(services))
			services[tid] = svc;
		process_set_stats_conns(tcp_service_stats_conns, NULL);
		return 0;
	}
fail:
	service_free(svc);
	return rc;
}

void tcp_service_teardown(struct tcp_service *svc)
{
	unsigned int left = 0;

	if (svc->index < RTE_DIM(services) && services[svc->index] == svc)
		services[svc->index] = NULL;
	for (unsigned int i = 0; i < RTE_DIM(services); i++)
		left += services[i] != NULL;
	if (left == 0)
		process_set_stats_conns(NULL, NULL);
	tcp_worker_teardown(&svc->tw);
	service_free(svc);
}

void tcp_service_counters_add(struct tcp_service_counters *sum, const struct tcp_service *svc)
{
#define TCP_SERVICE_ADD(name, desc) sum->name += net_counter_read(&svc->ctr.name);
	TCP_SERVICE_COUNTERS(TCP_SERVICE_ADD)
#undef TCP_SERVICE_ADD
}
