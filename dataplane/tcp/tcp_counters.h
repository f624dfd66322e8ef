/*
 * Per-worker counters of the TCP engine, declared once: the struct, the names
 * `stats` prints and their descriptions all come from TCP_COUNTERS. Gauges
 * (curr_connections, half_open, time_wait) go up and down; the rest only grow.
 */
#ifndef DPCACHE_TCP_COUNTERS_H
#define DPCACHE_TCP_COUNTERS_H

#include <stdint.h>

#define TCP_COUNTERS(X)                                                                     \
	X(curr_connections, "connections open now (established until freed)")               \
	X(total_connections, "connections established since start")                         \
	X(rejected_connections, "connection attempts refused: max connections reached")     \
	X(half_open, "connections in SYN-RECEIVED now")                                     \
	X(time_wait, "TIME-WAIT records held now")                                          \
	X(time_wait_recycled, "TIME-WAIT records dropped early because the table was full") \
	X(rx_segments, "TCP segments received")                                             \
	X(tx_segments, "TCP segments queued for sending")                                   \
	X(rx_payload_bytes, "in-order payload bytes accepted")                              \
	X(tx_payload_bytes, "payload bytes sent, retransmissions included")                 \
	X(drop_bad_checksum, "TCP checksum wrong")                                          \
	X(drop_malformed, "TCP header truncated or data offset invalid")                    \
	X(drop_multi_segment, "segment spread over several mbufs")                          \
	X(drop_no_listener, "segment to a port nothing listens on")                         \
	X(drop_out_of_window, "segment outside the receive window (answered with an ACK)")  \
	X(drop_paws, "segment with an old timestamp (PAWS; answered with an ACK)")          \
	X(drop_rcv_buffer_full, "data dropped: the connection's receive buffer is full")    \
	X(dup_segments, "segments entirely already received")                               \
	X(ooo_segments, "segments received out of order and held")                          \
	X(retransmits, "segments retransmitted (timeout, fast retransmit, SYN-ACK)")        \
	X(fast_retransmits, "fast retransmits after three duplicate ACKs")                  \
	X(rto_expired, "retransmission timer expiries")                                     \
	X(timeouts, "connections aborted: retransmissions or keepalives unanswered")        \
	X(idle_timeouts, "connections closed for being idle")                               \
	X(zero_window_probes, "zero-window probes sent")                                    \
	X(keepalive_probes, "keepalive probes sent")                                        \
	X(delayed_acks, "ACKs sent by the delayed-ACK timer")                               \
	X(syn_cookies_sent, "SYN-ACKs carrying a SYN cookie (SYN queue full)")              \
	X(syn_cookies_ok, "connections created from a valid SYN cookie")                    \
	X(syn_cookies_bad, "ACKs to no connection whose cookie did not verify")             \
	X(resets_sent, "RST segments sent")                                                 \
	X(resets_received, "connections reset by the peer")                                 \
	X(challenge_acks, "challenge ACKs sent (RFC 5961)")                                 \
	X(challenge_acks_limited, "challenge ACKs not sent: over challenge_ack_limit")      \
	X(tx_queue_full, "segments not queued: the output queue was full")                  \
	X(alloc_failed, "segments not built: the mbuf pool was empty")

struct tcp_counters {
#define TCP_COUNTER_FIELD(name, desc) uint64_t name;
	TCP_COUNTERS(TCP_COUNTER_FIELD)
#undef TCP_COUNTER_FIELD
};

/* One writer (the owning worker), readers on the main lcore: relaxed atomics. */
static inline void tcp_count(uint64_t *counter, int64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + (uint64_t)n,
			 __ATOMIC_RELAXED);
}

static inline uint64_t tcp_counter_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Add every counter of `src` to `sum` (reader side). */
void tcp_counters_add(struct tcp_counters *sum, const struct tcp_counters *src);

#endif
