#include "worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#define WORKER_BURST 32
#define IDLE_POLLS_BEFORE_SLEEP 1000

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

/* Run one received frame through the stack; true if it became a reply. */
static int worker_handle(struct worker *w, struct rte_mbuf *m)
{
	uint16_t len = rte_pktmbuf_data_len(m);

	if (m->nb_segs != 1) {
		net_count(&w->net.rx_packets, 1);
		net_count(&w->net.rx_bytes, rte_pktmbuf_pkt_len(m));
		net_count(&w->net.drop_multi_segment, 1);
		return 0;
	}
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct udp_dgram dgram;

	switch (net_input(&w->iface, &w->net, frame, &len)) {
	case NET_REPLY:
		break;
	case NET_UDP:
		/* Valid and allowed; the memcache UDP service is not wired in yet. */
		if (udp_input(&w->udp, &w->net, frame, len, &dgram) == NET_UDP)
			net_count(&w->net.drop_no_service, 1);
		return 0;
	case NET_TCP:
		/* No TCP engine yet: nothing listens. */
		net_count(&w->net.drop_no_service, 1);
		return 0;
	case NET_DROP:
		return 0;
	}
	m->data_len = len;
	m->pkt_len = len;
	m->ol_flags = 0;
	return 1;
}

static void worker_transmit(struct worker *w, struct rte_mbuf **tx, uint16_t n)
{
	uint16_t sent = rte_eth_tx_burst(w->port_id, w->queue_id, tx, n);
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < sent; i++)
		bytes += rte_pktmbuf_pkt_len(tx[i]);
	net_count(&w->net.tx_packets, sent);
	net_count(&w->net.tx_bytes, bytes);
	if (sent < n) {
		net_count(&w->net.tx_dropped, n - sent);
		rte_pktmbuf_free_bulk(&tx[sent], n - sent);
	}
}

int worker_main(void *arg)
{
	struct worker *w = arg;
	struct rte_mbuf *rx[WORKER_BURST], *tx[WORKER_BURST];
	unsigned int idle = 0;

	while (!worker_stopping()) {
		uint16_t n = rte_eth_rx_burst(w->port_id, w->queue_id, rx, WORKER_BURST);
		uint16_t ntx = 0;

		if (n == 0) {
			if (w->idle_sleep_us != 0 && ++idle >= IDLE_POLLS_BEFORE_SLEEP)
				rte_delay_us_sleep(w->idle_sleep_us);
			continue;
		}
		idle = 0;
		for (uint16_t i = 0; i < n; i++) {
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
			if (worker_handle(w, rx[i]))
				tx[ntx++] = rx[i];
			else
				rte_pktmbuf_free(rx[i]);
		}
		if (ntx > 0)
			worker_transmit(w, tx, ntx);
	}
	return 0;
}
