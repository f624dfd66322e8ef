#include "udp_service.h"

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "dpcache/proto_udp.h"
#include "net/net_counters.h"

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
	process_conn_init(&svc->conn, &udp_cfg);
	return 0;
}

void udp_service_teardown(struct udp_service *svc)
{
	process_conn_close(&svc->pw, &svc->conn);
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

int udp_service_handle(struct udp_service *svc, const struct net_iface *ifc,
		       const struct udp_dgram *d, uint32_t now, int tx_offload)
{
	struct udp_service_counters *c = &svc->ctr;
	struct proto_udp_hdr hdr;
	struct proto_out out;
	const char *req;
	size_t req_len;
	int n;

	if (proto_udp_parse(d->payload, d->len, &hdr, &req, &req_len) < 0) {
		net_count(&c->drop_udp_frame, 1);
		return 0;
	}
	net_count(&c->udp_requests, 1);
	proto_out_init(&out, svc->out_buf, UDP_SERVICE_OUT_MAX, svc->iov, UDP_SERVICE_IOV_MAX);
	process_input(&svc->pw, &svc->conn, req, req_len, now, &out);
	conn_forget(svc);
	if (out.error != 0) {
		net_count(&c->drop_udp_reply_too_large, 1);
		return 0;
	}
	if (out.total == 0) {
		net_count(&c->udp_noreply, 1);
		return 0;
	}

	udp_reply_begin(&svc->reply, svc->pool);
	for (unsigned int i = 0; i < out.iov_cnt; i++)
		udp_reply_write(&svc->reply, out.iov[i].iov_base, out.iov[i].iov_len);
	n = udp_reply_finish(&svc->reply, ifc, d, hdr.req_id, tx_offload);
	if (n < 0) {
		net_count(n == -ENOBUFS ? &c->drop_udp_reply_nobufs : &c->drop_udp_reply_too_large,
			  1);
		return 0;
	}
	net_count(&c->udp_replies, 1);
	net_count(&c->udp_reply_datagrams, n);
	return n;
}

void udp_service_counters_add(struct udp_service_counters *sum, const struct udp_service *svc)
{
#define UDP_SERVICE_ADD(name, desc) sum->name += net_counter_read(&svc->ctr.name);
	UDP_SERVICE_COUNTERS(UDP_SERVICE_ADD)
#undef UDP_SERVICE_ADD
}
