#include "tcp_service.h"

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "net/net_counters.h"

#define OUT_HEADROOM 65536 /* reply lines around the largest value */

static struct tcp_mc_conn *mc_of(struct tcp_service *svc, const struct tcp_conn *c)
{
	return &svc->conns[tcp_conn_id(c)];
}

/*
 * A reply larger than the send space goes as one chain of mbufs the engine
 * references without copying again; the engine accepts one such chain beyond
 * its buffer, after which the connection waits for on_writable.
 */
static int send_chain(struct tcp_service *svc, struct tcp_conn *c, const struct proto_out *o)
{
	struct rte_mbuf *head = NULL, *tail = NULL;

	for (unsigned int i = 0; i < o->iov_cnt; i++) {
		const char *p = o->iov[i].iov_base;
		size_t left = o->iov[i].iov_len;

		while (left > 0) {
			size_t room = tail != NULL ? rte_pktmbuf_tailroom(tail) : 0;
			char *dst;

			if (room == 0) {
				struct rte_mbuf *m = rte_pktmbuf_alloc(svc->pool);

				if (m == NULL)
					goto nobufs;
				if (head == NULL)
					head = m;
				else if (rte_pktmbuf_chain(head, m) < 0) {
					rte_pktmbuf_free(m);
					goto nobufs;
				}
				tail = m;
				room = rte_pktmbuf_tailroom(tail);
			}
			room = RTE_MIN(room, left);
			dst = rte_pktmbuf_append(head, room);
			if (dst == NULL)
				goto nobufs;
			memcpy(dst, p, room);
			p += room;
			left -= room;
		}
	}
	if (head == NULL)
		return 0;
	if (tcp_send_mbuf(c, head) == 0)
		return 0;
	rte_pktmbuf_free(head);
	return -EPIPE;
nobufs:
	if (head != NULL)
		rte_pktmbuf_free(head);
	net_count(&svc->ctr.tcp_reply_nobufs, 1);
	return -ENOBUFS;
}

/* Hand a reply to the engine: copied if it fits the send space, chained if not. */
static int send_reply(struct tcp_service *svc, struct tcp_conn *c, const struct proto_out *o)
{
	if (o->total == 0)
		return 0;
	net_count(&svc->ctr.tcp_reply_bytes, o->total);
	if (o->total > tcp_send_space(c))
		return send_chain(svc, c, o);
	for (unsigned int i = 0; i < o->iov_cnt; i++)
		if (tcp_send(c, o->iov[i].iov_base, o->iov[i].iov_len) !=
		    (int)o->iov[i].iov_len)
			return -EPIPE;
	return 0;
}

/*
 * Run the connection's received bytes a line at a time (a line holds at most
 * one request, so one reply at a time is built), sending each reply before
 * the next line is read; stop while the peer is not reading.
 */
static void serve(struct tcp_service *svc, struct tcp_conn *c)
{
	struct tcp_mc_conn *mc = mc_of(svc, c);
	struct tcp_iov in[8];
	int n;

	while (mc->open && (n = tcp_recv_peek(c, in, 8)) > 0) {
		const uint8_t *p = in[0].base;
		uint32_t len = in[0].len;
		const uint8_t *nl;
		struct proto_out o;
		enum process_status st;

		if (tcp_send_space(c) == 0) {
			net_count(&svc->ctr.tcp_backpressure, 1);
			return; /* on_writable brings us back */
		}
		if (svc->pool_low) {
			if (!mc->starved) {
				mc->starved = 1;
				svc->starved[svc->nstarved++] = tcp_conn_id(c);
				net_count(&svc->ctr.tcp_pool_waits, 1);
			}
			return; /* tcp_service_retry brings us back */
		}
		nl = memchr(p, '\n', len);
		if (nl != NULL)
			len = (uint32_t)(nl - p + 1);
		proto_out_init(&o, svc->out_buf, svc->out_cap, svc->iov, TCP_SERVICE_IOV_MAX);
		st = process_input(&svc->pw, &mc->pc, (const char *)p, len, svc->now, &o);
		tcp_recv_consume(c, len);
		net_count(&svc->ctr.tcp_requests_bytes, len);
		if (o.error != 0) {
			net_count(&svc->ctr.tcp_reply_too_large, 1);
			st = PROCESS_CLOSE;
		} else if (send_reply(svc, c, &o) < 0) {
			st = PROCESS_CLOSE;
		}
		if (st == PROCESS_CLOSE) {
			mc->open = 0;
			process_conn_close(&svc->pw, &mc->pc);
			tcp_close(c);
			return;
		}
	}
	if (mc->open && tcp_recv_avail(c) == 0 && tcp_peer_closed(c)) {
		mc->open = 0;
		process_conn_close(&svc->pw, &mc->pc);
		tcp_close(c);
	}
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
	rte_free(svc->out_buf);
	rte_free(svc->conns);
	rte_free(svc->starved);
	svc->out_buf = NULL;
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
	svc->out_cap = (size_t)item_size_max + OUT_HEADROOM;
	if (process_worker_init(&svc->pw, store, tid) < 0)
		return -EINVAL;
	svc->out_buf = rte_malloc_socket("tcp_out", svc->out_cap, 64, cfg->socket_id);
	svc->conns = rte_zmalloc_socket("tcp_mc_conns", sizeof(*svc->conns) * cfg->max_conns,
					RTE_CACHE_LINE_SIZE, cfg->socket_id);
	svc->starved = rte_malloc_socket("tcp_starved", sizeof(*svc->starved) * cfg->max_conns, 0,
					 cfg->socket_id);
	svc->nstarved = 0;
	svc->pool_low = 0;
	svc->pool_reserve = pool->size / 4;
	if (svc->out_buf == NULL || svc->conns == NULL || svc->starved == NULL) {
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
