#include "udp_service.h"

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "dpcache/proto_udp.h"
#include "net/net_counters.h"
#include "store/store_value_inline.h"
#include "udp_get.h"

int udp_service_setup(struct udp_service *svc, struct store *store, unsigned int tid,
		      const struct proto_config *cfg, struct rte_mempool *pool, int socket)
{
	struct proto_config udp_cfg = *cfg;

	memset(svc, 0, sizeof(*svc));
	svc->pool = pool;
	if (process_worker_init(&svc->pw, store, tid) < 0)
		return -EINVAL;
	svc->out_buf = rte_malloc_socket("udp_out", UDP_SERVICE_OUT_MAX, 64, socket);
	if (svc->out_buf == NULL)
		return -ENOMEM;
	udp_cfg.udp = true;
	if (udp_cfg.udp_allow == 0)
		udp_cfg.udp_allow = PROTO_UDP_ALLOW_DEFAULT;
	svc->fast_get = (udp_cfg.udp_allow & PROTO_CMD_BIT(PROTO_CMD_GET)) != 0;
	svc->fast_gets = (udp_cfg.udp_allow & PROTO_CMD_BIT(PROTO_CMD_GETS)) != 0;
	process_conn_init(&svc->conn, &udp_cfg);
	return 0;
}

void udp_service_teardown(struct udp_service *svc)
{
	process_conn_close(&svc->pw, &svc->conn);
	udp_reply_release(&svc->reply);
	rte_free(svc->out_buf);
	svc->out_buf = NULL;
}

/*
 * Every datagram is a connection of its own: whatever a request left half
 * parsed (a storage command whose value did not fit) is forgotten before the
 * next one.
 */
static void conn_forget(struct udp_service *svc)
{
	process_conn_close(&svc->pw, &svc->conn);
	proto_parser_reset(&svc->conn.parser);
}

/* The executor's reply, copied from its buffer into the datagrams. */
static int general_reply(struct udp_service *svc, const char *req, size_t req_len, uint32_t now)
{
	struct proto_out out;

	proto_out_init(&out, svc->out_buf, UDP_SERVICE_OUT_MAX, svc->iov, UDP_SERVICE_IOV_MAX);
	process_input(&svc->pw, &svc->conn, req, req_len, now, &out);
	conn_forget(svc);
	if (out.error != 0)
		return -EMSGSIZE;
	if (out.total == 0)
		return 0;
	udp_reply_begin(&svc->reply, svc->pool);
	for (unsigned int i = 0; i < out.iov_cnt; i++)
		udp_reply_write(&svc->reply, out.iov[i].iov_base, out.iov[i].iov_len);
	return 1;
}

/*
 * The shortcut's keys point into the request, whose mbuf the reply is about
 * to reuse: move them out of the way first (a few dozen bytes).
 */
static inline void keys_to_line(struct udp_service *svc, struct proto_span *keys,
				unsigned int nkeys)
{
	const char *from = keys[0].p;
	size_t len;

	if (nkeys == 1) { /* the common get: 8 instructions less than the general case below */
		udp_copy_short(svc->line, from, keys[0].len);
		keys[0].p = svc->line;
		return;
	}
	len = (size_t)(keys[nkeys - 1].p + keys[nkeys - 1].len - from);
	udp_copy_short(svc->line, from, len);
	keys[0].p = svc->line;
	for (unsigned int i = 1; i < nkeys; i++)
		keys[i].p = svc->line + (keys[i].p - from);
}

#define RATIO_ERROR "SERVER_ERROR reply exceeds the UDP reply ratio\r\n"

/*
 * The amplification guard's second half (--udp-reply-ratio): a reply that
 * would carry more than `ratio` times the request's bytes is replaced by an
 * error line, or by nothing if even that is too much. Returns false when
 * nothing is to be sent. `in_request`: the reply was begun in the request's
 * mbuf (udp_reply_begin_in took it).
 */
static bool ratio_check(struct udp_service *svc, bool in_request, size_t req_bytes)
{
	uint64_t allowed = (uint64_t)svc->reply_ratio * req_bytes;
	struct udp_reply *r = &svc->reply;
	/* where the reply began: the request's own mbuf, or no datagram yet */
	struct udp_reply_mark start = {NULL, 0, 0};

	if (r->error != 0 || udp_reply_bytes(r) <= allowed)
		return true;
	net_count(&svc->ctr.udp_ratio_refused, 1);
	if (in_request)
		start = (struct udp_reply_mark){
		    rte_pktmbuf_mtod_offset(r->dgrams[0], char *, UDP_REPLY_HDRS),
		    UDP_REPLY_PAYLOAD_MAX, 1};
	udp_reply_rewind(r, &start);
	if (UDP_FRAME_HDR_LEN + sizeof(RATIO_ERROR) - 1 > allowed)
		return false;
	udp_reply_write(r, RATIO_ERROR, sizeof(RATIO_ERROR) - 1);
	return true;
}

/*
 * A request enters the pipeline: its frame header (a bad one is counted and
 * dropped here: false), and for a plain get line its keys, probed (their
 * buckets prefetched).
 */
static inline bool enter(struct udp_service *svc, struct udp_pending *e, struct rte_mbuf *m,
			 const struct udp_dgram *d)
{
	struct proto_udp_hdr hdr;
	const char *req;
	size_t req_len;
	unsigned int n;

	if (proto_udp_parse(d->payload, d->len, &hdr, &req, &req_len) < 0) {
		net_count(&svc->ctr.drop_udp_frame, 1);
		rte_pktmbuf_free(m);
		return false;
	}
	net_count(&svc->ctr.udp_requests, 1);
	e->m = m;
	e->d = *d;
	e->req = req;
	e->req_len = (uint32_t)req_len;
	e->req_id = hdr.req_id;
	n = proto_udp_get_scan(req, req_len, &e->cas, e->keys, PROTO_UDP_GET_KEYS_MAX);
	if (n == 0 || !(e->cas ? svc->fast_gets : svc->fast_get) || req_len > sizeof(svc->line))
		n = 0;
	e->nkeys = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++)
		store_probe_inline(svc->pw.thread, e->keys[i].p, e->keys[i].len, &e->probes[i]);
	return true;
}

/* The items of a request's keys prefetched, their buckets having arrived. */
static inline void warm(const struct udp_pending *e)
{
	unsigned int n = e->nkeys;

	if (n == 0)
		return;
	/* the first key peeled off: 3 instructions a get less than one plain loop */
	store_probe_item_inline(&e->probes[0]);
	for (unsigned int i = 1; i < n; i++)
		store_probe_item_inline(&e->probes[i]);
}

/* A request served; returns the datagrams left in svc->reply. */
static inline __attribute__((always_inline)) int serve(struct udp_service *svc,
						       struct udp_pending *e,
						       const struct net_iface *ifc, uint32_t now,
						       int tx_offload)
{
	struct udp_service_counters *c = &svc->ctr;
	struct rte_mbuf *m = e->m;
	int n;

	if (e->nkeys > 0) {
		net_count(&c->udp_fast_gets, 1);
		keys_to_line(svc, e->keys, e->nkeys);
		if (udp_reply_begin_in(&svc->reply, svc->pool, m))
			m = NULL; /* the reply's now */
		udp_get_reply(svc->pw.thread, &svc->reply, e->keys, e->probes, e->nkeys, e->cas,
			      now);
	} else {
		n = general_reply(svc, e->req, e->req_len, now);
		if (n <= 0) {
			net_count(n < 0 ? &c->drop_udp_reply_too_large : &c->udp_noreply, 1);
			rte_pktmbuf_free(m);
			return 0;
		}
	}
	if (unlikely(svc->reply_ratio != 0 && !ratio_check(svc, m == NULL, e->d.len))) {
		/* the request's headers may live in the reply's first datagram */
		udp_reply_abort(&svc->reply);
		if (m != NULL)
			rte_pktmbuf_free(m);
		return 0;
	}
	n = udp_reply_finish(&svc->reply, ifc, &e->d, e->req_id, tx_offload);
	if (m != NULL)
		rte_pktmbuf_free(m); /* the request: `e->d` points into it until here */
	if (n < 0) {
		net_count(n == -ENOBUFS ? &c->drop_udp_reply_nobufs : &c->drop_udp_reply_too_large,
			  1);
		return 0;
	}
	net_count(&c->udp_replies, 1);
	net_count(&c->udp_reply_datagrams, n);
	return n;
}

#define PIPE_MASK (UDP_SERVICE_PIPE - 1)
_Static_assert((UDP_SERVICE_PIPE & PIPE_MASK) == 0 && UDP_SERVICE_LAG < UDP_SERVICE_PIPE,
	       "the pipeline is a ring");

/*
 * One step of the pipeline: the newest request probed (enter), the one
 * before it warmed, the oldest served once UDP_SERVICE_LAG requests follow
 * it: each request's bucket and item have a request's work to arrive in.
 */
int udp_service_handle(struct udp_service *svc, const struct net_iface *ifc, struct rte_mbuf *m,
		       const struct udp_dgram *d, uint32_t now, int tx_offload)
{
	unsigned int first = svc->first, n = svc->npending;

	if (!enter(svc, &svc->pending[(first + n) & PIPE_MASK], m, d))
		return 0;
	if (n > 0)
		warm(&svc->pending[(first + n - 1) & PIPE_MASK]);
	if (n < UDP_SERVICE_LAG) {
		svc->npending = n + 1;
		return 0;
	}
	svc->first = (first + 1) & PIPE_MASK;
	return serve(svc, &svc->pending[first], ifc, now, tx_offload);
}

int udp_service_drain(struct udp_service *svc, const struct net_iface *ifc, uint32_t now,
		      int tx_offload)
{
	unsigned int first = svc->first;

	if (svc->npending == 0)
		return -1;
	if (--svc->npending > 0)
		warm(&svc->pending[(first + 1) & PIPE_MASK]);
	svc->first = (first + 1) & PIPE_MASK;
	return serve(svc, &svc->pending[first], ifc, now, tx_offload);
}

void udp_service_counters_add(struct udp_service_counters *sum, const struct udp_service *svc)
{
#define UDP_SERVICE_ADD(name, desc) sum->name += net_counter_read(&svc->ctr.name);
	UDP_SERVICE_COUNTERS(UDP_SERVICE_ADD)
#undef UDP_SERVICE_ADD
}
