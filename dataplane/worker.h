/*
 * Workers: one per worker lcore, each polling its own RX queue and running
 * every packet to completion. All per-worker state sits in one cache-aligned
 * struct indexed by lcore id; the main lcore only reads its counters.
 */
#ifndef DPCACHE_WORKER_H
#define DPCACHE_WORKER_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>

#include "net/net.h"
#include "net/udp.h"
#include "store/store.h"
#include "tcp_service.h"
#include "udp_service.h"

#define WORKER_TX_MAX 64

struct worker {
	struct net_counters net;
	uint16_t ntx;
	struct rte_mbuf *tx[WORKER_TX_MAX];
	struct net_iface iface;
	struct udp_config udp;
	struct udp_service *udp_svc; /* NULL: UDP not served */
	struct tcp_service *tcp_svc; /* NULL: TCP not served */
	struct store *store;
	unsigned int partition;	     /* the store partition this worker owns */
	int tx_cksum_offload;
	uint32_t now;		     /* unix time, read once per burst */
	uint64_t next_maintain_tsc;
	uint64_t tsc_per_us;
	uint16_t port_id;
	uint16_t queue_id;
	unsigned int idle_sleep_us;
	int rx_intr;		     /* idle: wait for the RX interrupt (else sleep) */
	int active;
	/* Software steering (worker_steering_setup): TCP frames go to their owner. */
	uint16_t rx_step, rx_end;    /* polls queue_id, + rx_step, ... below rx_end (0: only its own);
				      * none if queue_id >= rx_step: only handed-off frames */
	struct rte_ring *inbox;	     /* frames other workers received for its connections */
	uint64_t handoff_out;	     /* TCP frames it received and handed to their owner */
	uint64_t handoff_in;	     /* TCP frames handed to it */
	uint64_t handoff_dropped;    /* frames for another worker whose inbox was full */
	/*
	 * Where the loop's time goes, in TSC cycles (one TSC read per loop): loops
	 * that received frames (their RX, processing and TX) and loops that found
	 * nothing (their poll, timers and any idle sleep). busy / (busy + idle)
	 * between two reads of `stats` is how loaded the worker was.
	 */
	uint64_t busy_cycles;
	uint64_t idle_cycles;
	uint64_t polls;		     /* loops */
	uint64_t polls_empty;	     /* loops that received nothing */
} __rte_cache_aligned;

extern struct worker workers[RTE_MAX_LCORE];

/* The lcore entry point; `arg` is the struct worker of that lcore. */
int worker_main(void *arg);

/* Queue one frame for sending on the worker's TX queue (flushed per burst). */
void worker_send(struct worker *w, struct rte_mbuf *m);

/*
 * A port that cannot give each worker its own flows (port_info.steering is
 * PORT_STEER_SOFTWARE): the first `pollers` workers poll the port's `nb_rx`
 * RX queues (worker i: queues i, i + pollers, ...; the others none, and none
 * waits on RX interrupts), and every TCP frame goes to the worker that
 * owns its connection, chosen by a hash of the addresses and ports, through
 * that worker's inbox (an rte_ring), so connection tables stay per worker.
 * UDP, ARP and ICMP are answered by the worker that received them. Call with
 * every worker's queue_id set, before they start. Returns 0 or -ENOMEM.
 */
int worker_steering_setup(uint16_t nb_rx, uint16_t pollers);
void worker_steering_teardown(void);

/* Ask every worker to return from worker_main (signal-safe). */
void worker_stop_all(void);

/* True once worker_stop_all() was called. */
int worker_stopping(void);

#endif
