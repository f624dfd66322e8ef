/* Data port set-up: queues, RSS and offloads that the port actually has. */
#ifndef DPCACHE_PORT_H
#define DPCACHE_PORT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

/* How received flows reach the worker that owns them. */
enum port_steering {
	PORT_STEER_SINGLE = 0, /* one worker: nothing to spread */
	PORT_STEER_RSS,	       /* the port hashes flows to one RX queue per worker */
	PORT_STEER_SOFTWARE,   /* fewer RX queues than workers: workers hand TCP frames on */
};

/* "single", "rss" or "software" (stats: rx_steering). */
const char *port_steering_name(enum port_steering s);

struct port_info {
	uint16_t port_id;
	uint16_t nb_queues;    /* TX queues: one per worker */
	uint16_t nb_rx_queues; /* RX queues configured: one per worker where the port has them */
	uint16_t rx_pollers;   /* workers that poll them: all with RSS, else fewer (often 1) */
	enum port_steering steering;
	int rss;		/* RSS spreads flows over the queues */
	int tx_cksum_offload;	/* the NIC fills IPv4, UDP and TCP checksums */
	int tx_multi_seg;	/* the port sends frames spread over several mbufs */
	int mac_in_software;	/* --mac not settable on the port: promiscuous + our match */
	int rx_intr;		/* RX queue interrupts armed (PORT_RX_INTR was asked) */
	struct rte_ether_addr mac;
	char driver[32];
};

/*
 * Configure `port_id` with one TX queue per worker and RX queues up to one
 * per worker (as many as the port has), set its MAC if
 * `mac` is non-NULL, and start it. On failure returns a negative errno and
 * puts one line naming the problem in err.
 */
int port_setup(uint16_t port_id, uint16_t nb_queues, struct rte_mempool *pool,
	       const struct rte_ether_addr *mac, struct port_info *info, char *err, size_t errlen);

/* Ask for RX queue interrupts, so that idle workers can wait for frames. */
#define PORT_RX_INTR 1u

/*
 * port_setup with flags (PORT_RX_INTR) and `nb_rx` workers polling RX queues
 * (0: every worker; never more than the port has queues, and one where it
 * cannot spread flows with RSS): info->rx_pollers, nb_rx_queues and steering
 * say what was set up. A
 * port whose driver has no RX interrupts is set up without them:
 * info->rx_intr says what was granted.
 */
int port_setup_flags(uint16_t port_id, uint16_t nb_queues, uint16_t nb_rx,
		     struct rte_mempool *pool, const struct rte_ether_addr *mac, unsigned int flags,
		     struct port_info *info, char *err, size_t errlen);

/* Stop and close the port (idempotent). */
void port_teardown(uint16_t port_id);

#endif
