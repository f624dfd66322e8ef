#include "port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_errno.h>

#define PORT_RX_DESC 1024
#define PORT_TX_DESC 1024
#define PORT_TX_CKSUM                                                                              \
	(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM)

int port_setup(uint16_t port_id, uint16_t nb_queues, struct rte_mempool *pool,
	       const struct rte_ether_addr *mac, struct port_info *info, char *err, size_t errlen)
{
	return port_setup_flags(port_id, nb_queues, 0, pool, mac, 0, info, err, errlen);
}

const char *port_steering_name(enum port_steering s)
{
	switch (s) {
	case PORT_STEER_RSS:
		return "rss";
	case PORT_STEER_SOFTWARE:
		return "software";
	case PORT_STEER_SINGLE:
		break;
	}
	return "single";
}

/*
 * Workers that poll RX queues: as asked (0: every worker), at most one per
 * queue the port has, and one only where the port cannot hash flows over
 * several. With fewer than the workers, TCP connections are spread in
 * software (worker.c).
 */
static uint16_t rx_poller_count(const struct rte_eth_dev_info *dev, uint16_t nb_queues,
				uint16_t nb_rx)
{
	uint16_t n = nb_rx != 0 && nb_rx < nb_queues ? nb_rx : nb_queues;

	if (n > dev->max_rx_queues)
		n = dev->max_rx_queues;
	if (n > 1 && (dev->flow_type_rss_offloads &
		      (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP)) == 0)
		n = 1;
	return n;
}

int port_setup_flags(uint16_t port_id, uint16_t nb_queues, uint16_t nb_rx, struct rte_mempool *pool,
		     const struct rte_ether_addr *mac, unsigned int flags, struct port_info *info,
		     char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info dev;
	uint16_t nb_rxd = PORT_RX_DESC, nb_txd = PORT_TX_DESC;
	int socket, rc;

	memset(info, 0, sizeof(*info));
	if (!rte_eth_dev_is_valid_port(port_id)) {
		snprintf(err, errlen, "--port: no DPDK port %u (%u available; add one with --vdev)",
			 port_id, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(port_id, &dev);
	if (rc < 0)
		goto fail_rc;
	if (nb_queues > dev.max_tx_queues) {
		snprintf(err, errlen, "port %u (%s) has %u TX queues, %u workers need one each",
			 port_id, dev.driver_name, dev.max_tx_queues, nb_queues);
		return -EINVAL;
	}
	/*
	 * The port gets as many RX queues as it can up to one per worker (some
	 * drivers, net_tap, want as many as TX queues); the pollers share them.
	 */
	info->rx_pollers = rx_poller_count(&dev, nb_queues, nb_rx);
	nb_rx = RTE_MIN(nb_queues, dev.max_rx_queues);

	memset(&conf, 0, sizeof(conf));
	/* RSS only where the port hashes and there is more than one queue to spread over. */
	if (nb_rx > 1 && dev.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) &
			dev.flow_type_rss_offloads;
		info->rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
	}
	/*
	 * No MBUF_FAST_FREE: TCP segments reference payload mbufs (refcnt > 1),
	 * and multi-segment frames need the ordinary free.
	 */
	if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
		info->tx_multi_seg = 1;
	}
	/* Checksums: all three offloaded, or all computed in software. */
	if ((dev.tx_offload_capa & PORT_TX_CKSUM) == PORT_TX_CKSUM) {
		conf.txmode.offloads |= PORT_TX_CKSUM;
		info->tx_cksum_offload = 1;
	}

	/* RX interrupts where the driver has them (ethdev refuses them otherwise). */
	if (flags & PORT_RX_INTR) {
		conf.intr_conf.rxq = 1;
		rc = rte_eth_dev_configure(port_id, nb_rx, nb_queues, &conf);
		info->rx_intr = rc == 0;
		if (rc < 0)
			conf.intr_conf.rxq = 0;
	}
	if (!info->rx_intr) {
		rc = rte_eth_dev_configure(port_id, nb_rx, nb_queues, &conf);
		if (rc < 0)
			goto fail_rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (rc < 0)
		goto fail_rc;
	socket = rte_eth_dev_socket_id(port_id);
	for (uint16_t q = 0; q < nb_queues; q++) {
		struct rte_eth_txconf txconf = dev.default_txconf;

		txconf.offloads = conf.txmode.offloads;
		rc = q < nb_rx ? rte_eth_rx_queue_setup(port_id, q, nb_rxd, socket, NULL, pool) : 0;
		if (rc < 0)
			goto fail_rc;
		rc = rte_eth_tx_queue_setup(port_id, q, nb_txd, socket, &txconf);
		if (rc < 0)
			goto fail_rc;
	}
	/*
	 * A port that cannot take the address (net_pcap, some VFs) still gets
	 * it: the stack matches our MAC in software, and promiscuous mode lets
	 * frames for it through the NIC's filter.
	 */
	if (mac != NULL) {
		rc = rte_eth_dev_default_mac_addr_set(port_id, (struct rte_ether_addr *)mac);
		if (rc == -ENOTSUP) {
			info->mac_in_software = 1;
		} else if (rc < 0) {
			snprintf(err, errlen, "--mac: port %u refused the address: %s", port_id,
				 rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(port_id);
	if (rc < 0)
		goto fail_rc;
	if (info->mac_in_software) {
		rte_eth_promiscuous_enable(port_id);
		info->mac = *mac;
	} else {
		rc = rte_eth_macaddr_get(port_id, &info->mac);
		if (rc < 0)
			goto fail_rc;
	}

	info->port_id = port_id;
	info->nb_queues = nb_queues;
	info->nb_rx_queues = nb_rx;
	info->steering = nb_queues == 1				      ? PORT_STEER_SINGLE
			 : info->rx_pollers == nb_queues && info->rss ? PORT_STEER_RSS
								      : PORT_STEER_SOFTWARE;
	snprintf(info->driver, sizeof(info->driver), "%s", dev.driver_name);
	return 0;

fail_rc:
	snprintf(err, errlen, "port %u: set-up failed: %s", port_id, rte_strerror(-rc));
	return rc;
}

void port_teardown(uint16_t port_id)
{
	if (!rte_eth_dev_is_valid_port(port_id))
		return;
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}
