/*
 * Per-worker packet counters of the network stack, declared once: the struct,
 * the names `stats` prints and their descriptions all come from NET_COUNTERS.
 */
#ifndef DPCACHE_NET_COUNTERS_H
#define DPCACHE_NET_COUNTERS_H

#include <stdint.h>

#define NET_COUNTERS(X)                                                                        \
	X(rx_packets, "frames received")                                                       \
	X(rx_bytes, "bytes received")                                                          \
	X(tx_packets, "frames sent")                                                           \
	X(tx_bytes, "bytes sent")                                                              \
	X(tx_dropped, "replies the TX queue had no room for")                                  \
	X(arp_replies, "ARP requests for our address answered")                                \
	X(icmp_echo_replies, "ICMP echo requests answered")                                    \
	X(drop_truncated, "frame shorter than its headers claim")                              \
	X(drop_bad_checksum, "IPv4 header or ICMP checksum wrong")                             \
	X(drop_not_for_us, "addressed to another MAC or IPv4 address")                         \
	X(drop_bad_source, "source address we must never answer (broadcast, multicast, zero)") \
	X(drop_bad_ip_header, "IPv4 version or header length invalid")                         \
	X(drop_ip_options, "IPv4 header with options")                                         \
	X(drop_ip_fragment, "IPv4 fragment")                                                   \
	X(drop_unknown_ethertype, "neither IPv4 nor ARP")                                      \
	X(drop_unknown_protocol, "IPv4 protocol other than ICMP, UDP and TCP")                 \
	X(drop_arp_unhandled, "ARP other than an Ethernet/IPv4 request")                       \
	X(drop_icmp_unhandled, "ICMP other than an echo request")                              \
	X(drop_no_service, "UDP or TCP to a port nothing serves")                              \
	X(drop_bad_udp_length, "UDP length field shorter than its header or past the datagram") \
	X(drop_udp_refused, "UDP from a source outside --udp-allow (amplification guard)")      \
	X(drop_multi_segment, "frame spread over several mbufs")

struct net_counters {
#define NET_COUNTER_FIELD(name, desc) uint64_t name;
	NET_COUNTERS(NET_COUNTER_FIELD)
#undef NET_COUNTER_FIELD
};

/*
 * Counters have one writer (the worker that owns them) and are read by the
 * main lcore. Relaxed atomics keep both sides free of data races and cost a
 * plain add on x86.
 */
static inline void net_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t net_counter_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Add every counter of `src` to `sum` (reader side). */
void net_counters_add(struct net_counters *sum, const struct net_counters *src);

#endif
