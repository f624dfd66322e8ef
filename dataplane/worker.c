#include "worker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_ring.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#define WORKER_BURST 32
#define WORKER_TX_EARLY 8 /* frames of a burst between two TX flushes (a power of two) */
#define IDLE_POLLS_BEFORE_SLEEP 1000
#define IDLE_POLL_AFTER_WAKE_US 2000
#define MAINTAIN_BUDGET 256

struct worker workers[RTE_MAX_LCORE];

static int stop_requested;

void worker_stop_all(void)
{
	__atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED);
}

int worker_stopping(void)
{
	return __atomic_load_n(&stop_requested, __ATOMIC_RELAXED);
}

/*
 * Everything a worker sends goes through its TX queue: replies built in place
 * and multi-datagram replies alike. The queue is flushed when full and after
 * every RX burst; what the NIC refuses is freed and counted.
 */
static void worker_flush(struct worker *w)
{
	uint16_t sent, n = w->ntx;
	uint64_t bytes = 0;

	if (n == 0)
		return;
	sent = rte_eth_tx_burst(w->port_id, w->queue_id, w->tx, n);
	for (uint16_t i = 0; i < sent; i++)
		bytes += rte_pktmbuf_pkt_len(w->tx[i]);
	net_count(&w->net.tx_packets, sent);
	net_count(&w->net.tx_bytes, bytes);
	if (sent < n) {
		net_count(&w->net.tx_dropped, n - sent);
		rte_pktmbuf_free_bulk(&w->tx[sent], n - sent);
	}
	w->ntx = 0;
}

void worker_send(struct worker *w, struct rte_mbuf *m)
{
	if (w->ntx == WORKER_TX_MAX)
		worker_flush(w);
	w->tx[w->ntx++] = m;
}

static void worker_send_cb(void *arg, struct rte_mbuf *m)
{
	worker_send(arg, m);
}

/* Segments the TCP engine queued (replies, ACKs, retransmissions) go out. */
static void worker_tcp_drain(struct worker *w)
{
	if (w->tcp_svc != NULL)
		tcp_tx_drain(&w->tcp_svc->tw, worker_send_cb, w);
}

/*
 * The service owns the request's mbuf (it may build the reply in it); the
 * reply's datagrams go to the TX queue, which owns them from then on. The
 * reply is that of an earlier request, or none yet: the service serves UDP
 * requests a few behind (udp_service.h), and the rest when a poll finds
 * nothing (worker_udp_drain).
 */
static void worker_serve_udp(struct worker *w, struct rte_mbuf *m, const struct udp_dgram *d)
{
	struct udp_service *svc = w->udp_svc;
	int n;

	if (svc == NULL) {
		net_count(&w->net.drop_no_service, 1);
		rte_pktmbuf_free(m);
		return;
	}
	n = udp_service_handle(svc, &w->iface, m, d, w->now, w->tx_cksum_offload);
	for (int i = 0; i < n; i++)
		worker_send(w, svc->reply.dgrams[i]);
	svc->reply.n = 0;
}

/*
 * When a poll finds no frame (and before the worker stops): the UDP requests
 * still in the service's pipeline served. Under load the pipeline carries
 * over from one burst to the next, so every request has two others' work to
 * hide its memory misses behind; a request waits at most one empty poll
 * longer for it.
 * Kept out of line: scripts/bench.sh udp counts instructions per request
 * through it and worker_handle.
 */
__attribute__((noinline)) static void worker_udp_drain(struct worker *w)
{
	struct udp_service *svc = w->udp_svc;
	int n;

	if (svc == NULL)
		return;
	while ((n = udp_service_drain(svc, &w->iface, w->now, w->tx_cksum_offload)) >= 0) {
		for (int i = 0; i < n; i++)
			worker_send(w, svc->reply.dgrams[i]);
		svc->reply.n = 0;
	}
}

/*
 * The store's housekeeping for the partition this worker owns: expiry,
 * transient cache, LRU balance and slab rebalancing, in small steps about
 * once a millisecond, so that requests never wait long behind it.
 */
static void worker_maintain(struct worker *w, uint64_t tsc)
{
	if (w->store == NULL || tsc < w->next_maintain_tsc)
		return;
	w->next_maintain_tsc = tsc + rte_get_tsc_hz() / 1000;
	store_maintain(w->store, w->partition, w->now, MAINTAIN_BUDGET);
}

/* ---- software steering ---- */

#define INBOX_SIZE 4096
#define STEER_SEED 0x5eed1e55u

static struct worker *steer_to[RTE_MAX_LCORE]; /* by queue_id */
static unsigned int nb_steer;

int worker_steering_setup(uint16_t nb_rx, uint16_t pollers)
{
	unsigned int lcore;
	char name[RTE_RING_NAMESIZE];

	nb_steer = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = &workers[lcore];

		snprintf(name, sizeof(name), "dp_inbox_%u", w->queue_id);
		w->inbox = rte_ring_create(name, INBOX_SIZE, (int)rte_lcore_to_socket_id(lcore),
					   RING_F_SC_DEQ);
		if (w->inbox == NULL)
			return -ENOMEM;
		w->rx_step = pollers;
		w->rx_end = nb_rx;
		w->rx_intr = 0; /* its other queues have no interrupt of their own: poll */
		steer_to[w->queue_id] = w;
		nb_steer++;
	}
	return 0;
}

void worker_steering_teardown(void)
{
	unsigned int lcore;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = &workers[lcore];
		struct rte_mbuf *m;

		if (w->inbox == NULL)
			continue;
		while (rte_ring_dequeue(w->inbox, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(w->inbox);
		w->inbox = NULL;
	}
	nb_steer = 0;
}

/*
 * A TCP frame (IPv4 validated, no options) for a connection another worker
 * owns goes to that worker's inbox. Returns 1 if the frame is gone.
 */
static int worker_hand_off(struct worker *w, struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *th;
	struct worker *owner;
	uint32_t h;

	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr) + sizeof(*ip) + sizeof(*th))
		return 0; /* the engine drops it here */
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	th = (const struct rte_tcp_hdr *)(ip + 1);
	h = rte_jhash_3words(ip->src_addr, ip->dst_addr,
			     ((uint32_t)th->src_port << 16) | th->dst_port, STEER_SEED);
	owner = steer_to[h % nb_steer];
	if (owner == w)
		return 0;
	if (rte_ring_mp_enqueue(owner->inbox, m) != 0) {
		net_count(&w->handoff_dropped, 1);
		rte_pktmbuf_free(m);
		return 1;
	}
	net_count(&w->handoff_out, 1);
	return 1;
}

/* A burst from the worker's RX queue, or from each of its queues (software steering). */
static uint16_t worker_rx(struct worker *w, struct rte_mbuf **rx)
{
	uint16_t n = 0;

	if (w->rx_step == 0)
		return rte_eth_rx_burst(w->port_id, w->queue_id, rx, WORKER_BURST);
	if (w->queue_id >= w->rx_step)
		return 0; /* not a poller: handed-off frames only */
	for (uint16_t q = w->queue_id; q < w->rx_end && n < WORKER_BURST; q += w->rx_step)
		n += rte_eth_rx_burst(w->port_id, q, rx + n, WORKER_BURST - n);
	return n;
}

/* TCP frames other workers received for this worker's connections. */
static unsigned int worker_take_handoffs(struct worker *w)
{
	struct rte_mbuf *in[WORKER_BURST];
	unsigned int n;

	if (w->inbox == NULL)
		return 0;
	n = rte_ring_sc_dequeue_burst(w->inbox, (void **)in, WORKER_BURST, NULL);
	for (unsigned int i = 0; i < n; i++)
		tcp_input(&w->tcp_svc->tw, in[i]);
	net_count(&w->handoff_in, n);
	return n;
}

/*
 * Run one received frame through the stack; the mbuf is consumed. Kept out of
 * line: scripts/bench.sh udp counts instructions per request through it.
 */
__attribute__((noinline)) static void worker_handle(struct worker *w, struct rte_mbuf *m)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	struct udp_dgram dgram;

	if (m->nb_segs != 1) {
		net_count(&w->net.rx_packets, 1);
		net_count(&w->net.rx_bytes, rte_pktmbuf_pkt_len(m));
		net_count(&w->net.drop_multi_segment, 1);
		rte_pktmbuf_free(m);
		return;
	}
	switch (net_input(&w->iface, &w->net, frame, &len)) {
	case NET_REPLY:
		m->data_len = len;
		m->pkt_len = len;
		m->ol_flags = 0;
		worker_send(w, m);
		return;
	case NET_UDP:
		if (udp_input(&w->udp, &w->net, frame, len, &dgram) == NET_UDP) {
			worker_serve_udp(w, m, &dgram);
			return;
		}
		break;
	case NET_TCP:
		if (w->tcp_svc == NULL) {
			net_count(&w->net.drop_no_service, 1);
			break;
		}
		/* The engine owns the frame from here; cut the Ethernet padding. */
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - len);
		if (w->inbox != NULL && worker_hand_off(w, m))
			return;
		tcp_input(&w->tcp_svc->tw, m);
		return;
	case NET_DROP:
		break;
	}
	rte_pktmbuf_free(m);
}

/*
 * Idle (--idle-sleep): wait for the queue's RX interrupt, at most the sleep
 * time rounded up to a millisecond (timers and housekeeping still run), or
 * just sleep where the port has no RX interrupts. True if a frame woke us:
 * the caller then polls for IDLE_POLL_AFTER_WAKE_US before waiting again, because a driver may
 * signal before its frame is readable (net_tap reads only once its SIGIO,
 * which may go to another thread, has come).
 */
static bool worker_idle(struct worker *w)
{
	struct rte_epoll_event ev;
	int rc, n;

	if (w->rx_intr) {
		/* Drivers whose event is the queue's own fd (net_tap) have no switch: ENOTSUP. */
		rc = rte_eth_dev_rx_intr_enable(w->port_id, w->queue_id);
		if (rc == 0 || rc == -ENOTSUP) {
			n = rte_epoll_wait_interruptible(RTE_EPOLL_PER_THREAD, &ev, 1,
							 (int)((w->idle_sleep_us + 999) / 1000));
			if (rc == 0)
				rte_eth_dev_rx_intr_disable(w->port_id, w->queue_id);
			return n != 0;
		}
	}
	rte_delay_us_sleep(w->idle_sleep_us);
	return false;
}

/* The loop that began at `start` and ran until `now` found work or not. */
static void worker_account(struct worker *w, uint64_t start, uint64_t now, bool busy)
{
	net_count(busy ? &w->busy_cycles : &w->idle_cycles, now - start);
	net_count(&w->polls, 1);
	if (!busy)
		net_count(&w->polls_empty, 1);
}

int worker_main(void *arg)
{
	struct worker *w = arg;
	struct rte_mbuf *rx[WORKER_BURST];
	unsigned int idle = 0;
	uint64_t poll_until = 0; /* after an RX interrupt: poll until then before waiting */
	uint64_t tsc = rte_get_tsc_cycles();
	bool busy = false;

	/* The interrupt joins this thread's epoll set: only the worker can add it. */
	if (w->rx_intr)
		w->rx_intr = rte_eth_dev_rx_intr_ctl_q(w->port_id, w->queue_id,
						       RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD,
						       NULL) == 0;

	while (!worker_stopping()) {
		uint64_t start = tsc;
		uint16_t n;

		tsc = rte_get_tsc_cycles();
		worker_account(w, start, tsc, busy);
		n = worker_rx(w, rx);
		busy = n > 0;
		w->now = (uint32_t)time(NULL);
		worker_maintain(w, tsc);
		if (w->tcp_svc != NULL) {
			w->tcp_svc->now = w->now;
			tcp_timers_run(&w->tcp_svc->tw, tsc / w->tsc_per_us);
			tcp_service_retry(w->tcp_svc);
		}
		if (n == 0) {
			unsigned int handed;

			if (w->udp_svc != NULL && w->udp_svc->npending != 0)
				worker_udp_drain(w); /* nothing new: the pipeline's last */
			handed = worker_take_handoffs(w);
			worker_tcp_drain(w); /* timers may have queued segments */
			worker_flush(w);
			busy = handed > 0;
			if (handed > 0)
				idle = 0;
			else if (w->idle_sleep_us != 0 && ++idle >= IDLE_POLLS_BEFORE_SLEEP &&
			    rte_get_tsc_cycles() >= poll_until && worker_idle(w))
				poll_until = rte_get_tsc_cycles() + w->tsc_per_us * IDLE_POLL_AFTER_WAKE_US;
			continue;
		}
		idle = 0;
		for (uint16_t i = 0; i < n; i++) {
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
			worker_handle(w, rx[i]);
			/* Replies leave every few frames: the peer works on them meanwhile. */
			if ((i & (WORKER_TX_EARLY - 1)) == WORKER_TX_EARLY - 1 && i + 1 < n) {
				worker_tcp_drain(w);
				worker_flush(w);
			}
		}
		worker_take_handoffs(w);
		worker_tcp_drain(w);
		worker_flush(w);
	}
	worker_udp_drain(w);
	worker_flush(w);
	return 0;
}
