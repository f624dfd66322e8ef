/* What the engine's files share; not for the application. */
#ifndef DPCACHE_TCP_INTERNAL_H
#define DPCACHE_TCP_INTERNAL_H

#include <stdbool.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_tcp.h>

#include "tcp.h"

#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

#define TCP_NONE UINT32_MAX
#define TCP_HDRS_LEN \
	(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr))
#define TCP_DEFAULT_PEER_MSS 536 /* RFC 9293 3.7.1: without the option */
#define TCP_COPY_MAX	     512 /* payload copied into the header mbuf up to this size */
#define TCP_MAX_WSCALE	     14
#define TCP_TSOPT_LEN	     12 /* NOP, NOP, kind 8, length 10, TSval, TSecr */
#define TCP_PAWS_IDLE_US     (24ull * 24 * 3600 * 1000000) /* RFC 7323 5.5: 24 days */

#define TCP_FL_FIN RTE_TCP_FIN_FLAG
#define TCP_FL_SYN RTE_TCP_SYN_FLAG
#define TCP_FL_RST RTE_TCP_RST_FLAG
#define TCP_FL_PSH RTE_TCP_PSH_FLAG
#define TCP_FL_ACK RTE_TCP_ACK_FLAG

/* A received segment, parsed. Sequence numbers in host order. */
struct tcp_seg {
	struct rte_mbuf *m;
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *th;
	uint32_t seq, ack, len; /* len: payload bytes */
	uint32_t wnd;		/* unscaled */
	uint8_t flags;
	/* options: MSS and window scale on a SYN only, timestamps on any segment */
	uint16_t opt_mss;  /* 0: absent */
	int8_t opt_wscale; /* -1: absent */
	uint8_t has_ts;
	uint32_t ts_val, ts_ecr;
};

/* The remote end a segment goes to. */
struct tcp_peer {
	uint32_t ip;	/* network order */
	uint16_t port;	/* network order */
	uint16_t lport; /* our port, network order */
	struct rte_ether_addr mac;
};

static inline uint32_t seg_seqlen(const struct tcp_seg *s)
{
	return s->len + !!(s->flags & TCP_FL_SYN) + !!(s->flags & TCP_FL_FIN);
}

static inline struct tcp_peer conn_peer(const struct tcp_conn *c)
{
	return (struct tcp_peer){.ip = c->rip,
				 .port = c->rport,
				 .lport = rte_cpu_to_be_16(c->w->cfg.port),
				 .mac = c->peer_mac};
}

/*
 * RFC 7323 timestamps: a millisecond clock (the engine's, so monotonic) plus
 * a keyed hash of the peer's address and port, so the values say nothing of
 * the clock and a SYN cookie's connection finds its offset again.
 */
static inline uint32_t ts_offset(const struct tcp_worker *w, uint32_t rip, uint16_t rport)
{
	return rte_jhash_3words(rip, rport, w->cfg.cookie_secret[1],
				w->cfg.cookie_secret[2] ^ 0x7473u);
}

static inline uint32_t ts_clock(const struct tcp_worker *w, uint32_t off)
{
	return (uint32_t)(w->now_us / 1000) + off;
}

/* Write the timestamps option (TCP_TSOPT_LEN bytes) at o. */
static inline uint8_t ts_option(uint8_t *o, uint32_t val, uint32_t ecr)
{
	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	val = rte_cpu_to_be_32(val);
	ecr = rte_cpu_to_be_32(ecr);
	memcpy(o + 4, &val, 4);
	memcpy(o + 8, &ecr, 4);
	return TCP_TSOPT_LEN;
}

/* tcp.c: the connection table and lifecycle */
struct tcp_conn *conn_lookup(struct tcp_worker *w, uint32_t rip, uint16_t rport);
struct tcp_conn *conn_alloc(struct tcp_worker *w, const struct tcp_seg *s);
void conn_establish(struct tcp_conn *c);
void conn_finish(struct tcp_conn *c, int error); /* gone: on_close, then free */
void conn_release(struct tcp_conn *c);		 /* free now or when not busy */
void conn_enter_time_wait(struct tcp_conn *c);
void conn_mark_pending(struct tcp_conn *c);
void conn_app_data(struct tcp_conn *c);
void conn_check_writable(struct tcp_conn *c);
uint32_t rcv_window(const struct tcp_conn *c); /* bytes we can advertise now */
uint32_t sendq_fin_seq(const struct tcp_conn *c);
void sendq_drop_acked(struct tcp_conn *c, uint32_t n);

/* TIME-WAIT records */
struct tcp_tw *tw_lookup(struct tcp_worker *w, uint32_t rip, uint16_t rport);
void tw_add(struct tcp_worker *w, const struct tcp_conn *c);
void tw_remove(struct tcp_worker *w, struct tcp_tw *tw);
void tw_expire(struct tcp_worker *w);

/* tcp_output.c */
int tcp_emit(struct tcp_worker *w, const struct tcp_peer *p, uint32_t seq, uint32_t ack,
	     uint8_t flags, uint16_t wnd, const uint8_t *opts, uint8_t optlen,
	     struct tcp_conn *payload_conn, uint32_t payload_seq, uint32_t len);
void conn_output(struct tcp_conn *c);
void conn_output_force(struct tcp_conn *c); /* ignoring sender SWS avoidance */
int conn_send_ack(struct tcp_conn *c);
int conn_send_synack(struct tcp_conn *c);
int conn_send_rst(struct tcp_conn *c);
int conn_retransmit_una(struct tcp_conn *c);
int conn_send_probe(struct tcp_conn *c);
void reply_rst(struct tcp_worker *w, const struct tcp_seg *s);
int send_cookie_synack(struct tcp_worker *w, const struct tcp_seg *s, uint32_t iss);

/* tcp_timer.c */
void conn_timer_arm(struct tcp_conn *c, uint64_t at_us);
void conn_timer_cancel(struct tcp_conn *c);
void conn_rto_arm(struct tcp_conn *c);
void conn_rtt_sample(struct tcp_conn *c, uint32_t rtt_us, uint32_t per_rtt);

/* tcp_cookie.c */
uint32_t cookie_make(const struct tcp_worker *w, const struct tcp_seg *s, uint16_t *mss);
int cookie_check(const struct tcp_worker *w, const struct tcp_seg *s, uint16_t *mss);

#endif
