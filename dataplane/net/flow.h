/*
 * Per-partition UDP ports (--udp-port-base): port BASE+i belongs to partition
 * i, which worker i owns. Where the port has rte_flow, one rule per partition
 * sends BASE+i to queue i, so a client that hashes the key itself lands on the
 * owner's core. Where it has not, RSS (or the one queue) delivers the
 * datagram to some worker, and the store's lock-free reads serve it there.
 */
#ifndef DPCACHE_FLOW_H
#define DPCACHE_FLOW_H

#include <stddef.h>
#include <stdint.h>

enum flow_steering {
	FLOW_STEER_OFF = 0,	/* no --udp-port-base */
	FLOW_STEER_SINGLE,	/* one worker: every port is the owner's already */
	FLOW_STEER_NONE,	/* no rte_flow: the worker that receives it serves it */
	FLOW_STEER_FLOW,	/* rte_flow rules: BASE+i goes to queue i */
};

/* "off", "single", "none" or "flow" (what `stats` prints as udp_steering). */
const char *flow_steering_name(enum flow_steering s);

/*
 * Install the steering rules on a started port for `n` partition ports from
 * `base` (host order) to our `ip` (network order), queue i for BASE+i.
 * Returns the mode in force. If the port refuses any rule, the rules made so
 * far are removed, the reason goes to `why` and the mode is NONE.
 */
enum flow_steering flow_steer_partitions(uint16_t port_id, uint32_t ip, uint16_t base,
					 uint16_t n, char *why, size_t whylen);

/* Remove the rules flow_steer_partitions made (idempotent). */
void flow_unsteer(uint16_t port_id);

#endif
