/*
 * The per-core server-side TCP engine.
 *
 * One struct tcp_worker per worker lcore, shared-nothing: its connection
 * table, TIME-WAIT records, timer wheel, output queue and counters are touched
 * by that lcore only (the main lcore reads the counters). Everything is
 * allocated by tcp_worker_setup(); the hot path allocates nothing but mbufs.
 *
 * How a worker drives it, once per loop:
 *
 *	tcp_timers_run(w, now_us);          // the engine's clock: the last now_us given
 *	for each received TCP frame m:      // IPv4 already validated by net_input
 *		tcp_input(w, m);            // m is owned by the engine from here
 *	tcp_tx_drain(w, worker_send_cb, worker);
 *
 * Segments the engine sends (SYN-ACK, ACK, RST, data, FIN) are complete
 * Ethernet frames queued on w->tx; tcp_tx_drain() hands them to the caller
 * and first lets connections with pending data fill the queue. Replies go to
 * the MAC address the connection's SYN came from: the engine keeps no ARP table.
 *
 * The application sees connections through callbacks (struct tcp_app), reads
 * in-order bytes in place with tcp_recv_peek()/tcp_recv_consume() (what it
 * leaves unconsumed stays buffered and shrinks the advertised window: that is
 * the receive-side backpressure), and writes with tcp_send() (copies) or
 * tcp_send_mbuf() (zero-copy: the payload mbufs are referenced by the
 * segments, never copied). See docs/TCP.md.
 */
#ifndef DPCACHE_TCP_H
#define DPCACHE_TCP_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "tcp_counters.h"

#define TCP_TX_MAX	  512  /* segments queued between two tcp_tx_drain() calls */
#define TCP_WHEEL_SLOTS	  1024 /* timer wheel slots (power of two) */
#define TCP_WHEEL_TICK_US 1000 /* one slot per millisecond */

struct tcp_conn;

/* The application's side of every connection; all callbacks are optional. */
struct tcp_app {
	/* The 3-way handshake completed. */
	void (*on_open)(struct tcp_conn *c, void *ctx);
	/* New in-order bytes (tcp_recv_peek) or the peer's FIN (tcp_peer_closed). */
	void (*on_data)(struct tcp_conn *c, void *ctx);
	/*
	 * A tcp_send()/tcp_send_mbuf() fell short (-EAGAIN or a partial
	 * write) and half of snd_buf is free again.
	 */
	void (*on_writable)(struct tcp_conn *c, void *ctx);
	/* The connection is gone (tcp_conn_error says why); c is invalid after. */
	void (*on_close)(struct tcp_conn *c, void *ctx);
	void *ctx;
};

struct tcp_config {
	uint32_t local_ip; /* network byte order */
	struct rte_ether_addr local_mac;
	uint16_t port;		      /* listening port, host order (11211) */
	uint16_t mss;		      /* MSS we advertise and send at most (1460) */
	uint32_t max_conns;	      /* connection pool size (-c) */
	uint32_t syn_backlog;	      /* half-open connections before SYN cookies */
	uint32_t time_wait_max;	      /* TIME-WAIT records (0: as max_conns) */
	uint32_t rcv_buf;	      /* receive buffer per connection, bytes */
	uint32_t snd_buf;	      /* send buffer per connection, bytes */
	uint32_t rcv_max_mbufs;	      /* mbufs a connection may hold received (0: derived) */
	uint32_t delack_us;	      /* delayed ACK (40 ms) */
	uint32_t rto_init_us;	      /* initial RTO (1 s, RFC 6298) */
	uint32_t rto_min_us;	      /* RTO floor (200 ms, as Linux) */
	uint32_t rto_max_us;	      /* RTO ceiling (60 s) */
	uint32_t max_retries;	      /* RTOs without progress before the abort (15) */
	uint32_t syn_retries;	      /* SYN-ACK retransmissions (5) */
	uint64_t idle_timeout_us;     /* close connections silent that long (0: never) */
	uint64_t keepalive_us;	      /* first keepalive after that much silence (0: off) */
	uint64_t keepalive_intvl_us;  /* between keepalive probes */
	uint32_t keepalive_probes;    /* unanswered probes before the abort */
	uint64_t time_wait_us;	      /* TIME-WAIT duration (2 MSL; 60 s) */
	uint64_t fin_timeout_us;      /* a closed connection still open after that is reset */
	int tx_cksum_offload;	      /* the port computes IPv4/TCP checksums */
	int rx_cksum_offload;	      /* trust RTE_MBUF_F_RX_L4_CKSUM_GOOD/BAD */
	int tx_copy_payload;	      /* one mbuf per segment: the port lacks multi-segment TX or
				       * frees with RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE */
	int socket_id;		      /* NUMA node of the tables (SOCKET_ID_ANY) */
	uint32_t cookie_secret[4];    /* SYN cookie key (all zero: random) */
	uint32_t challenge_ack_limit; /* challenge ACKs a second per worker (0: no limit) */
	struct tcp_app app;
};

/* Fill `cfg` with the defaults named above (addresses and app left zero). */
void tcp_config_defaults(struct tcp_config *cfg);

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSING,
	TCP_TIME_WAIT, /* only in records (struct tcp_tw), never in a struct tcp_conn */
};

/* A piece of received in-order data, in place in an mbuf. */
struct tcp_iov {
	const uint8_t *base;
	uint32_t len;
};

/*
 * One connection. The fields are the engine's; the application uses the
 * functions below. Connections live in a fixed pool: tcp_conn_id() is the
 * slot, 0 .. max_conns - 1, which an application may use to index its own
 * per-connection state.
 */
struct tcp_conn {
	/* identity */
	uint32_t id;
	uint32_t hnext; /* next slot in the hash chain or the free list */
	uint32_t rip;	/* remote IPv4, network order */
	uint16_t rport; /* remote port, network order */
	uint8_t state;	/* enum tcp_state */
	uint8_t flags;	/* TCP_CF_* */
	struct rte_ether_addr peer_mac;
	uint8_t snd_wscale; /* shift applied to windows the peer sends */
	uint8_t rcv_wscale; /* shift applied to windows we send */
	uint16_t mss;	    /* largest payload we send */
	uint16_t flags2;    /* TCP_CF2_* */
	uint8_t dupacks;
	uint8_t retries; /* RTO expiries (or SYN-ACK resends) without progress */
	uint8_t probes;	 /* keepalive probes unanswered */
	int8_t error;	 /* 0, or a negative errno once it fails */
	/* send sequence space */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t cwnd, ssthresh, recover;
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge of the window advertised */
	uint32_t fin_ooo_seq;
	/* RFC 6298 */
	uint32_t srtt_us, rttvar_us, rto_us, rtt_seq;
	uint64_t rtt_start_us;
	/* RFC 7323 timestamps (TCP_CF2_TS) */
	uint32_t ts_off;	/* our TSval is the millisecond clock plus this */
	uint32_t ts_recent;	/* the peer's TSval we echo */
	uint32_t last_ack_sent; /* the ACK field of the last segment sent */
	uint64_t ts_recent_us;	/* when ts_recent was set (PAWS idle rule) */
	/* deadlines in µs, 0 = not armed */
	uint64_t rto_at, delack_at, persist_at, ka_at;
	uint64_t last_rx_us, close_at_us;
	uint32_t persist_backoff;
	/* timer wheel node */
	uint64_t tm_tick;
	struct tcp_conn *tm_next, *tm_prev;
	struct tcp_conn *pend_next; /* on the worker's pending-output list */
	/* receive buffer: in-order mbufs (rcv_off bytes of the first consumed) */
	struct rte_mbuf *rcv_head, *rcv_tail;
	uint32_t rcv_off, rcv_bytes, rcv_mbufs;
	/* out-of-order mbufs sorted by sequence (in hash.usr), held within the window */
	struct rte_mbuf *ooo_head;
	uint32_t ooo_bytes, ooo_mbufs;
	/* send buffer: payload from snd_una on (snd_off bytes of the first acked) */
	struct rte_mbuf *snd_head, *snd_tail;
	uint32_t snd_off, snd_bytes;
	struct rte_mbuf *cur_m; /* cursor: mbuf and offset holding sequence cur_seq */
	uint32_t cur_off, cur_seq;
	void *user;
	struct tcp_worker *w;
};

/* Flags of a connection (flags). */
#define TCP_CF_ACK_NOW	  0x01 /* an ACK must go out with the next output */
#define TCP_CF_FIN_QUEUED 0x02 /* the application closed: FIN after the data */
#define TCP_CF_FIN_RCVD	  0x04 /* the peer's FIN arrived (in order) */
#define TCP_CF_OPENED	  0x08 /* on_open was called: on_close will be */
#define TCP_CF_PENDING	  0x10 /* on the pending-output list */
#define TCP_CF_BUSY	  0x20 /* inside a callback: freeing is deferred */
#define TCP_CF_DEAD	  0x40 /* to be freed when no longer busy */
#define TCP_CF_RECOVERY	  0x80 /* in fast recovery (NewReno) */
/* flags2 */
#define TCP_CF2_WANT_WRITABLE 0x01 /* tell on_writable when space returns */
#define TCP_CF2_TAIL_OWNED    0x02 /* snd_tail is our own copy buffer: appendable */
#define TCP_CF2_RTT	      0x04 /* timing the segment at rtt_seq */
#define TCP_CF2_IDLE_CLOSED   0x08 /* closed by the idle timeout */
#define TCP_CF2_WSCALE	      0x10 /* window scaling agreed */
#define TCP_CF2_FIN_ACKED     0x20 /* the peer acknowledged our FIN */
#define TCP_CF2_FIN_OOO	      0x40 /* the peer's FIN came beyond a hole, at fin_ooo_seq */
#define TCP_CF2_TS	      0x80 /* timestamps agreed (RFC 7323) */

/* A compact TIME-WAIT record: the connection itself is freed (docs/TCP.md). */
struct tcp_tw {
	uint32_t rip;
	uint16_t rport;
	uint8_t live;
	uint8_t ts_ok; /* timestamps agreed: ACKs carry them */
	uint32_t snd_nxt, rcv_nxt;
	uint32_t hnext;
	uint32_t ts_recent;
	struct rte_ether_addr peer_mac;
	uint64_t expire_us;
};

struct tcp_tx {
	uint16_t n;
	struct rte_mbuf *pkts[TCP_TX_MAX];
};

struct tcp_worker {
	struct tcp_config cfg;
	struct rte_mempool *pool;
	uint64_t now_us;
	struct tcp_counters ctr;
	struct tcp_conn *conns;
	uint32_t *buckets; /* conn hash: first slot of each chain, UINT32_MAX = none */
	uint32_t bucket_mask;
	uint32_t free_head, nfree;
	uint8_t rcv_wscale;
	struct tcp_conn *pend_head;
	uint64_t challenge_epoch_us;
	uint32_t challenge_left;
	/* timer wheel */
	uint64_t wheel_tick; /* last tick processed */
	struct tcp_conn *slots[TCP_WHEEL_SLOTS];
	struct tcp_conn *due; /* timers being fired (tm_tick == UINT64_MAX) */
	/* TIME-WAIT records: a ring ordered by expiry, with a hash index */
	struct tcp_tw *tw;
	uint32_t *tw_buckets;
	uint32_t tw_mask, tw_cap, tw_head, tw_count;
	struct tcp_tx tx;
};

/*
 * Allocate the tables for cfg->max_conns connections on cfg->socket_id;
 * segments are built from `pool`. Returns 0 or a negative errno.
 */
int tcp_worker_setup(struct tcp_worker *w, const struct tcp_config *cfg, struct rte_mempool *pool);

/* Free every connection's buffers, the queued output and the tables (no callbacks). */
void tcp_worker_teardown(struct tcp_worker *w);

/*
 * Handle one received frame: m's data starts at the Ethernet header, its IPv4
 * header was validated by the caller (checksum, destination, no options, no
 * fragments). The engine owns m afterwards: frees it or keeps its payload.
 */
void tcp_input(struct tcp_worker *w, struct rte_mbuf *m);

/* Advance the engine's clock to now_us and run every timer due. */
void tcp_timers_run(struct tcp_worker *w, uint64_t now_us);

/*
 * Let connections with pending output fill the queue, and hand every queued
 * frame to send(arg, m) (which owns it then). Returns the frames handed over.
 */
unsigned int tcp_tx_drain(struct tcp_worker *w, void (*send)(void *arg, struct rte_mbuf *m),
			  void *arg);

/* --- the application's interface --- */

/* Bytes of in-order data buffered and not yet consumed. */
uint32_t tcp_recv_avail(const struct tcp_conn *c);

/* Point iov[0..n) at the buffered bytes, oldest first; returns n (<= max). */
int tcp_recv_peek(const struct tcp_conn *c, struct tcp_iov *iov, int max);

/* The application is done with the first n buffered bytes (window may reopen). */
void tcp_recv_consume(struct tcp_conn *c, uint32_t n);

/* True once the peer's FIN arrived and every byte before it was buffered. */
int tcp_peer_closed(const struct tcp_conn *c);

/* Bytes tcp_send() accepts now (snd_buf minus what is queued, never negative). */
uint32_t tcp_send_space(const struct tcp_conn *c);

/*
 * Copy up to len bytes into the send buffer. Returns the bytes taken (may be
 * less than len: then on_writable tells when to go on), -EAGAIN if none fit,
 * -EPIPE after tcp_close() or a reset, -ENOBUFS if the pool is empty.
 */
int tcp_send(struct tcp_conn *c, const void *buf, size_t len);

/*
 * Queue a chain of payload mbufs without copying; the engine owns the chain
 * on success (segments reference its data). Allowed while tcp_send_space() is
 * not zero, so the buffer may overshoot snd_buf by one chain. Returns 0,
 * -EAGAIN (no space: the caller keeps the chain) or -EPIPE.
 */
int tcp_send_mbuf(struct tcp_conn *c, struct rte_mbuf *payload);

/*
 * Ask for on_writable once half of snd_buf is free again (e.g. the
 * application stopped producing because the buffer is full). Only ACKs of
 * queued data bring it: call it while data is queued.
 */
void tcp_want_writable(struct tcp_conn *c);

/* Send FIN after the queued data; on_close follows when the close completes. */
void tcp_close(struct tcp_conn *c);

/* Reset the connection now (RST); on_close is called before this returns or right after. */
void tcp_abort(struct tcp_conn *c);

/* 0 while healthy or after a clean close; -ECONNRESET, -ETIMEDOUT otherwise. */
static inline int tcp_conn_error(const struct tcp_conn *c)
{
	return c->error;
}

static inline uint32_t tcp_conn_id(const struct tcp_conn *c)
{
	return c->id;
}

static inline void *tcp_conn_user(const struct tcp_conn *c)
{
	return c->user;
}

static inline void tcp_conn_set_user(struct tcp_conn *c, void *user)
{
	c->user = user;
}

static inline enum tcp_state tcp_conn_state(const struct tcp_conn *c)
{
	return (enum tcp_state)c->state;
}

#endif
