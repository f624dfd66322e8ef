/*
 * The harness of the tcp suites: a real EAL and mempool, one tcp_worker
 * driven with hand-built segments from a pretend peer, and the segments the
 * engine queues parsed back (checksums verified) for the tests to inspect.
 */
#ifndef DPCACHE_TESTS_TCP_UTIL_H
#define DPCACHE_TESTS_TCP_UTIL_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "tcp.h"

#define PEER_PORT 40000
#define PEER_ISN  1000000u

extern struct rte_mempool *tpool;
extern struct tcp_worker *W;
extern uint64_t tnow;
extern uint16_t expect_sport; /* take() checks every segment's source port */

/* What the application saw. */
struct app_log {
	int opened, data_calls, closed, writable;
	int close_error;
	struct tcp_conn *last;
	int echo;	   /* consume everything and send it back */
	int consume;	   /* consume everything (no echo) */
	uint8_t rx[65536]; /* bytes consumed, in order */
	uint32_t rx_len;
};
extern struct app_log app;

/* One segment the engine queued, parsed. */
struct out_seg {
	uint32_t seq, ack;
	uint16_t sport;
	uint8_t flags;
	uint16_t wnd;
	uint32_t len;
	int mss, wscale; /* options, -1 if absent */
	int sack_ok;
	int has_ts; /* timestamps option present: ts_val, ts_ecr */
	uint32_t ts_val, ts_ecr;
	uint32_t hdr_len; /* TCP header with options */
	int nb_segs;
	uint64_t ol_flags;
	uint8_t data[4096];
};

int tcp_util_eal_init(const char *name);
int tcp_util_eal_cleanup(void);

/* Defaults of the tests: small tables, ip 198.18.0.2, port 11211. */
void test_config(struct tcp_config *cfg);
/* Set up W with cfg (NULL: test_config) and time 0; resets the log. */
void start(const struct tcp_config *cfg);
/* Tear down and check that every mbuf went back to the pool. */
void stop(void);

void advance_us(uint64_t us);

/* Send one segment from the peer's port `sport`; opts of optlen bytes. */
void peer_send(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
	       const void *data, uint32_t len, const uint8_t *opts, uint8_t optlen);
/* The same, with the checksum wrong. */
void peer_send_bad_cksum(uint16_t sport, uint32_t seq, uint8_t flags);
void peer_send_to_port(uint16_t dport, uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags);

/* Segments queued by the engine since the last take. */
int nout(void);
/* Parse and free the oldest queued segment; returns 0 or -1 if none. */
int take(struct out_seg *o);
/* Free every queued segment. */
void drop_out(void);
/* Run tcp_tx_drain into the queue that take() reads. */
void drain(void);

/* Write NOP, NOP, timestamps at o; returns 12. */
uint8_t ts_opts(uint8_t *o, uint32_t val, uint32_t ecr);
/* peer_send with the timestamps option (and no other). */
void peer_send_ts(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
		  const void *data, uint32_t len, uint32_t ts_val, uint32_t ts_ecr);
/*
 * handshake() with timestamps: the SYN's TSval is ts_val, the ACK's ts_val + 1
 * echoing the SYN-ACK's; our SYN-ACK TSval in *our_ts.
 */
struct tcp_conn *handshake_ts(uint16_t sport, uint32_t *iss, uint32_t ts_val, uint32_t *our_ts);

/*
 * Complete a handshake from sport (SYN with MSS 1460 and window scale 7)
 * and return the connection; the SYN-ACK's ISS in *iss. Leaves no output.
 */
struct tcp_conn *handshake(uint16_t sport, uint32_t *iss);

#endif
