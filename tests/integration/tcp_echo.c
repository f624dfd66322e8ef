/*
 * tcp_echo: the TCP engine alone on a real port, as an echo server on port
 * 11211, so that tests can hold it against the Linux TCP in a namespace
 * (test_tcp_echo.sh). Test-only: ARP, ICMP and IPv4 validation come from the
 * dataplane's net_input, TCP from dataplane/tcp, nothing else of dpcached.
 *
 *	tcp_echo EAL-ARGS -- --ip A.B.C.D/LEN --stats FILE [--max-conns N]
 *		[--syn-backlog N] [--rcv-buf N] [--snd-buf N] [--idle-ms N] [--copy]
 *		[--loss PCT] [--reorder PCT] [--dup PCT]
 *
 * --loss/--reorder/--dup impair TCP frames in both directions, in place of
 * netem (which this kernel may not have): dropped, held back behind the next
 * frame, or delivered twice, each with the given probability.
 *
 * Every 100 ms the TCP counters are written to FILE ("name value" lines,
 * replaced atomically); SIGTERM/SIGINT stops it cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "net/net.h"
#include "tcp.h"

#define BURST	32
#define NB_DESC 1024
#define TX_MAX	512

static volatile sig_atomic_t stopping;
static struct tcp_worker tw;
static struct rte_mbuf *txq[TX_MAX];
static uint16_t ntx;
static uint64_t tx_dropped;
static uint32_t loss_pm, reorder_pm, dup_pm; /* per mille */
static struct rte_mempool *pool;
static struct rte_mbuf *tx_held, *rx_held;
static uint64_t rx_held_at;
static uint64_t impaired_drop, impaired_dup, impaired_reorder;

enum fate { PASS, DROP, DUP, HOLD };

static enum fate fate(void)
{
	uint32_t r = (uint32_t)(rte_rand() % 1000);

	if (r < loss_pm)
		return DROP;
	if (r < loss_pm + dup_pm)
		return DUP;
	if (r < loss_pm + dup_pm + reorder_pm)
		return HOLD;
	return PASS;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void flush(void)
{
	uint16_t sent = 0;

	for (int tries = 0; sent < ntx && tries < 100; tries++)
		sent += rte_eth_tx_burst(0, 0, txq + sent, ntx - sent);
	if (sent < ntx) {
		tx_dropped += ntx - sent;
		rte_pktmbuf_free_bulk(txq + sent, ntx - sent);
	}
	ntx = 0;
}

static void send_one(void *arg, struct rte_mbuf *m)
{
	(void)arg;
	if (ntx == TX_MAX)
		flush();
	txq[ntx++] = m;
}

/* Segments from the engine, impaired on request. */
static void send_tcp(void *arg, struct rte_mbuf *m)
{
	struct rte_mbuf *copy;

	switch (fate()) {
	case DROP:
		impaired_drop++;
		rte_pktmbuf_free(m);
		return;
	case DUP:
		copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		if (copy != NULL) {
			impaired_dup++;
			send_one(arg, copy);
		}
		break;
	case HOLD:
		if (tx_held == NULL) {
			impaired_reorder++;
			tx_held = m;
			return;
		}
		break;
	case PASS:
		break;
	}
	send_one(arg, m);
	if (tx_held != NULL && tx_held != m) {
		send_one(arg, tx_held);
		tx_held = NULL;
	}
}

static void input_tcp(struct rte_mbuf *m, uint64_t now)
{
	struct rte_mbuf *copy;

	switch (fate()) {
	case DROP:
		impaired_drop++;
		rte_pktmbuf_free(m);
		return;
	case DUP:
		copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		if (copy != NULL) {
			impaired_dup++;
			tcp_input(&tw, copy);
		}
		break;
	case HOLD:
		if (rx_held == NULL) {
			impaired_reorder++;
			rx_held = m;
			rx_held_at = now;
			return;
		}
		break;
	case PASS:
		break;
	}
	tcp_input(&tw, m);
	if (rx_held != NULL) {
		tcp_input(&tw, rx_held);
		rx_held = NULL;
	}
}

/* Echo what can be sent; leave the rest buffered until on_writable. */
static void echo(struct tcp_conn *c)
{
	struct tcp_iov iov[16];
	int n;

	while ((n = tcp_recv_peek(c, iov, 16)) > 0) {
		uint32_t done = 0;
		int stop = 0;

		for (int i = 0; i < n && !stop; i++) {
			int rc = tcp_send(c, iov[i].base, iov[i].len);

			if (rc <= 0)
				break;
			done += (uint32_t)rc;
			stop = (uint32_t)rc < iov[i].len;
		}
		tcp_recv_consume(c, done);
		if (done == 0 || stop)
			return;
	}
	if (tcp_peer_closed(c) && tcp_recv_avail(c) == 0)
		tcp_close(c);
}

static void on_data(struct tcp_conn *c, void *ctx)
{
	(void)ctx;
	echo(c);
}

static void on_writable(struct tcp_conn *c, void *ctx)
{
	(void)ctx;
	echo(c);
}

static void write_stats(const char *path)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return;
#define PRINT(name, desc) \
	fprintf(f, "%s %llu\n", #name, (unsigned long long)tcp_counter_read(&tw.ctr.name));
	TCP_COUNTERS(PRINT)
#undef PRINT
	fprintf(f, "port_tx_dropped %llu\n", (unsigned long long)tx_dropped);
	fprintf(f, "impaired_drop %llu\nimpaired_dup %llu\nimpaired_reorder %llu\n",
		(unsigned long long)impaired_drop, (unsigned long long)impaired_dup,
		(unsigned long long)impaired_reorder);
	fprintf(f, "mbufs_in_use %u\n", rte_mempool_in_use_count(tw.pool));
	fclose(f);
	rename(tmp, path);
}

static int port_setup(struct rte_mempool *pool, struct rte_ether_addr *mac)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t rxd = NB_DESC, txd = NB_DESC;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_count_avail() < 1 || rte_eth_dev_info_get(0, &info) != 0)
		return -1;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (rte_eth_dev_configure(0, 1, 1, &conf) != 0 ||
	    rte_eth_dev_adjust_nb_rx_tx_desc(0, &rxd, &txd) != 0 ||
	    rte_eth_rx_queue_setup(0, 0, rxd, rte_socket_id(), NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(0, 0, txd, rte_socket_id(), NULL) != 0 ||
	    rte_eth_dev_start(0) != 0)
		return -1;
	return rte_eth_macaddr_get(0, mac);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ip", required_argument, NULL, 'i'},
	    {"stats", required_argument, NULL, 's'},
	    {"max-conns", required_argument, NULL, 'c'},
	    {"syn-backlog", required_argument, NULL, 'b'},
	    {"rcv-buf", required_argument, NULL, 'r'},
	    {"snd-buf", required_argument, NULL, 'w'},
	    {"idle-ms", required_argument, NULL, 'd'},
	    {"copy", no_argument, NULL, 'y'},
	    {"loss", required_argument, NULL, 'L'},
	    {"reorder", required_argument, NULL, 'R'},
	    {"dup", required_argument, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	struct tcp_config cfg;
	struct net_iface ifc;
	struct net_counters nc;
	const char *stats = NULL;
	uint64_t hz, next_stats = 0;
	int n, o, plen = 24;
	char ipbuf[32] = "", *slash;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "tcp_echo: EAL init failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	tcp_config_defaults(&cfg);
	cfg.app.on_data = on_data;
	cfg.app.on_writable = on_writable;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			snprintf(ipbuf, sizeof(ipbuf), "%s", optarg);
			break;
		case 's':
			stats = optarg;
			break;
		case 'c':
			cfg.max_conns = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			cfg.syn_backlog = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			cfg.rcv_buf = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			cfg.snd_buf = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			cfg.idle_timeout_us = strtoull(optarg, NULL, 0) * 1000;
			break;
		case 'y':
			cfg.tx_copy_payload = 1;
			break;
		case 'L':
			loss_pm = (uint32_t)(strtod(optarg, NULL) * 10);
			break;
		case 'R':
			reorder_pm = (uint32_t)(strtod(optarg, NULL) * 10);
			break;
		case 'D':
			dup_pm = (uint32_t)(strtod(optarg, NULL) * 10);
			break;
		default:
			return 2;
		}
	}
	slash = strchr(ipbuf, '/');
	if (slash != NULL) {
		*slash = '\0';
		plen = atoi(slash + 1);
	}
	memset(&ifc, 0, sizeof(ifc));
	memset(&nc, 0, sizeof(nc));
	if (inet_pton(AF_INET, ipbuf, &ifc.ip) != 1 || stats == NULL || plen < 1 || plen > 32) {
		fprintf(stderr, "usage: tcp_echo EAL -- --ip A.B.C.D/LEN --stats FILE ...\n");
		return 2;
	}
	ifc.netmask = htonl(plen == 32 ? UINT32_MAX : ~(UINT32_MAX >> plen));
	pool = rte_pktmbuf_pool_create("echo", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (pool == NULL || port_setup(pool, &ifc.mac) != 0) {
		fprintf(stderr, "tcp_echo: port set-up failed\n");
		return 1;
	}
	cfg.local_ip = ifc.ip;
	cfg.local_mac = ifc.mac;
	if (tcp_worker_setup(&tw, &cfg, pool) != 0) {
		fprintf(stderr, "tcp_echo: tcp set-up failed\n");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	hz = rte_get_tsc_hz();
	printf("tcp_echo: ready\n");
	fflush(stdout);
	while (!stopping) {
		struct rte_mbuf *rx[BURST];
		uint64_t now = rte_get_tsc_cycles() / (hz / 1000000);
		uint16_t nrx;

		tcp_timers_run(&tw, now);
		nrx = rte_eth_rx_burst(0, 0, rx, BURST);
		for (uint16_t i = 0; i < nrx; i++) {
			struct rte_mbuf *m = rx[i];
			uint16_t len = rte_pktmbuf_data_len(m);

			if (m->nb_segs != 1) {
				rte_pktmbuf_free(m);
				continue;
			}
			switch (net_input(&ifc, &nc, rte_pktmbuf_mtod(m, uint8_t *), &len)) {
			case NET_REPLY:
				m->data_len = m->pkt_len = len;
				m->ol_flags = 0;
				send_one(NULL, m);
				break;
			case NET_TCP:
				m->data_len = m->pkt_len = len;
				input_tcp(m, now);
				break;
			default:
				rte_pktmbuf_free(m);
			}
		}
		if (rx_held != NULL && now - rx_held_at > 2000) {
			tcp_input(&tw, rx_held);
			rx_held = NULL;
		}
		tcp_tx_drain(&tw, send_tcp, NULL);
		if (tx_held != NULL && nrx == 0) {
			send_one(NULL, tx_held);
			tx_held = NULL;
		}
		flush();
		if (now >= next_stats) {
			write_stats(stats);
			next_stats = now + 100000;
		}
		if (nrx == 0)
			rte_delay_us_sleep(50);
	}
	write_stats(stats);
	rte_pktmbuf_free(rx_held);
	rte_pktmbuf_free(tx_held);
	tcp_worker_teardown(&tw);
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	rte_mempool_free(pool);
	{
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		rmdir(dir); /* leave nothing behind */
	}
	return 0;
}
