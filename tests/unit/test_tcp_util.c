#include "test_tcp_util.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#define POOL_SIZE 8191
#define FIFO_MAX  8192

struct rte_mempool *tpool;
struct tcp_worker *W;
uint64_t tnow;
uint16_t expect_sport = 11211;
struct app_log app;

static const struct rte_ether_addr our_mac = {{2, 0, 0, 0, 0, 2}};
static const struct rte_ether_addr peer_mac = {{2, 0, 0, 0, 0, 1}};
static struct rte_mbuf *fifo[FIFO_MAX];
static unsigned int fifo_head, fifo_n;

int tcp_util_eal_init(const char *name)
{
	char prefix[32];
	char *argv[] = {(char *)name,
			"--no-huge",
			"-m",
			"128",
			"--no-pci",
			"--no-shconf",
			"--no-telemetry",
			"-l",
			"0",
			"--log-level=error",
			"--file-prefix",
			prefix};

	snprintf(prefix, sizeof(prefix), "tcptest%d", getpid());
	if (rte_eal_init(sizeof(argv) / sizeof(argv[0]), argv) < 0)
		return -1;
	tpool = rte_pktmbuf_pool_create("tcptest", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					SOCKET_ID_ANY);
	W = rte_zmalloc("tcp_worker", sizeof(*W), RTE_CACHE_LINE_SIZE);
	return tpool != NULL && W != NULL ? 0 : -1;
}

int tcp_util_eal_cleanup(void)
{
	char dir[PATH_MAX];
	int rc;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_free(W);
	rte_mempool_free(tpool);
	rc = rte_eal_cleanup();
	rmdir(dir);
	return rc;
}

static void on_open(struct tcp_conn *c, void *ctx)
{
	(void)ctx;
	app.opened++;
	app.last = c;
}

static void on_data(struct tcp_conn *c, void *ctx)
{
	struct tcp_iov iov[64];
	uint32_t total = 0;
	int n;

	(void)ctx;
	app.data_calls++;
	if (!app.echo && !app.consume)
		return;
	n = tcp_recv_peek(c, iov, 64);
	for (int i = 0; i < n; i++) {
		if (app.rx_len + iov[i].len <= sizeof(app.rx)) {
			memcpy(app.rx + app.rx_len, iov[i].base, iov[i].len);
			app.rx_len += iov[i].len;
		}
		if (app.echo)
			tcp_send(c, iov[i].base, iov[i].len);
		total += iov[i].len;
	}
	tcp_recv_consume(c, total);
}

static void on_close(struct tcp_conn *c, void *ctx)
{
	(void)ctx;
	app.closed++;
	app.close_error = tcp_conn_error(c);
	if (app.last == c)
		app.last = NULL;
}

static void on_writable(struct tcp_conn *c, void *ctx)
{
	(void)c;
	(void)ctx;
	app.writable++;
}

void test_config(struct tcp_config *cfg)
{
	tcp_config_defaults(cfg);
	cfg->local_ip = inet_addr("198.18.0.2");
	cfg->local_mac = our_mac;
	cfg->max_conns = 16;
	cfg->syn_backlog = 8;
	cfg->rcv_buf = 16384;
	cfg->snd_buf = 65536;
	cfg->cookie_secret[0] = 0x12345678;
	cfg->app = (struct tcp_app){on_open, on_data, on_writable, on_close, NULL};
}

void start(const struct tcp_config *cfg)
{
	struct tcp_config def;

	if (cfg == NULL) {
		test_config(&def);
		cfg = &def;
	}
	memset(&app, 0, sizeof(app));
	fifo_head = fifo_n = 0;
	expect_sport = 11211;
	tnow = 1000000; /* not zero: the engine must not care where the clock starts */
	CU_ASSERT_FATAL(tcp_worker_setup(W, cfg, tpool) == 0);
	tcp_timers_run(W, tnow);
}

void stop(void)
{
	drop_out();
	tcp_worker_teardown(W);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(tpool), POOL_SIZE); /* nothing leaked */
}

void advance_us(uint64_t us)
{
	/* In steps, as a worker would: timers see every millisecond. */
	uint64_t end = tnow + us;

	while (tnow < end) {
		tnow = RTE_MIN(end, tnow + 10000);
		tcp_timers_run(W, tnow);
	}
}

static struct rte_mbuf *build(uint16_t dport, uint16_t sport, uint32_t seq, uint32_t ack,
			      uint8_t flags, uint16_t wnd, const void *data, uint32_t len,
			      const uint8_t *opts, uint8_t optlen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tpool);
	uint16_t hl = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
		      sizeof(struct rte_tcp_hdr) + optlen;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	CU_ASSERT_FATAL(m != NULL);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, hl + len);
	CU_ASSERT_FATAL(eth != NULL);
	memset(eth, 0, hl);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	eth->dst_addr = our_mac;
	eth->src_addr = peer_mac;
	eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = htons(hl - sizeof(*eth) + len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = inet_addr("198.18.0.1");
	ip->dst_addr = inet_addr("198.18.0.2");
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = htons(sport);
	th->dst_port = htons(dport);
	th->sent_seq = htonl(seq);
	th->recv_ack = htonl(ack);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = htons(wnd);
	if (optlen)
		memcpy(th + 1, opts, optlen);
	if (len)
		memcpy((uint8_t *)(th + 1) + optlen, data, len);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

void peer_send(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
	       const void *data, uint32_t len, const uint8_t *opts, uint8_t optlen)
{
	tcp_input(W, build(11211, sport, seq, ack, flags, wnd, data, len, opts, optlen));
}

void peer_send_bad_cksum(uint16_t sport, uint32_t seq, uint8_t flags)
{
	struct rte_mbuf *m = build(11211, sport, seq, 0, flags, 1000, "x", 1, NULL, 0);
	struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(
	    m, struct rte_tcp_hdr *, sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr));

	th->cksum ^= 0x0101;
	tcp_input(W, m);
}

void peer_send_to_port(uint16_t dport, uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	tcp_input(W, build(dport, sport, seq, ack, flags, 1000, NULL, 0, NULL, 0));
}

static void capture(void *arg, struct rte_mbuf *m)
{
	(void)arg;
	if (fifo_n == FIFO_MAX) {
		rte_pktmbuf_free(m);
		CU_FAIL("output fifo full");
		return;
	}
	fifo[(fifo_head + fifo_n++) % FIFO_MAX] = m;
}

void drain(void)
{
	tcp_tx_drain(W, capture, NULL);
}

int nout(void)
{
	drain();
	return (int)fifo_n;
}

static void parse(struct rte_mbuf *m, struct out_seg *o)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
	uint32_t doff = (th->data_off >> 4) * 4u, ip_len = ntohs(ip->total_length);
	const uint8_t *opt = (const uint8_t *)(th + 1);
	uint16_t raw = 0;
	uint32_t sum;

	memset(o, 0, offsetof(struct out_seg, data));
	o->mss = o->wscale = -1;
	o->sport = ntohs(th->src_port);
	CU_ASSERT(rte_is_same_ether_addr(&eth->dst_addr, &peer_mac));
	CU_ASSERT(rte_is_same_ether_addr(&eth->src_addr, &our_mac));
	CU_ASSERT_EQUAL(ip->dst_addr, inet_addr("198.18.0.1"));
	CU_ASSERT_EQUAL(ip->src_addr, inet_addr("198.18.0.2"));
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), sizeof(*eth) + ip_len);
	o->seq = ntohl(th->sent_seq);
	o->ack = ntohl(th->recv_ack);
	o->flags = th->tcp_flags;
	o->wnd = ntohs(th->rx_win);
	o->len = ip_len - sizeof(*ip) - doff;
	o->hdr_len = doff;
	o->nb_segs = m->nb_segs;
	o->ol_flags = m->ol_flags;
	for (uint32_t i = 0; i + 1 < doff - sizeof(*th);) {
		if (opt[i] == 1) {
			i++;
			continue;
		}
		if (opt[i] == 0)
			break;
		if (opt[i] == 2)
			o->mss = (opt[i + 2] << 8) | opt[i + 3];
		if (opt[i] == 3)
			o->wscale = opt[i + 2];
		if (opt[i] == 4)
			o->sack_ok = 1;
		if (opt[i] == 8 && opt[i + 1] == 10) {
			uint32_t v, e;

			memcpy(&v, opt + i + 2, 4);
			memcpy(&e, opt + i + 6, 4);
			o->has_ts = 1;
			o->ts_val = ntohl(v);
			o->ts_ecr = ntohl(e);
		}
		i += opt[i + 1];
	}
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM)) {
		/* Over a flat copy: DPDK 22.11's rte_raw_cksum_mbuf is wrong after odd pieces. */
		static uint8_t flat[65536];
		const void *l4 = rte_pktmbuf_read(m, sizeof(*eth) + sizeof(*ip),
						  ip_len - sizeof(*ip), flat);

		CU_ASSERT_EQUAL(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
		CU_ASSERT_FATAL(l4 != NULL);
		raw = rte_raw_cksum(l4, ip_len - sizeof(*ip));
		sum = (uint32_t)rte_ipv4_phdr_cksum(ip, 0) + raw;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		CU_ASSERT_EQUAL(sum, 0xffff);
	}
	if (o->len > 0 && o->len <= sizeof(o->data)) {
		const void *p =
		    rte_pktmbuf_read(m, sizeof(*eth) + sizeof(*ip) + doff, o->len, o->data);

		CU_ASSERT_FATAL(p != NULL);
		if (p != o->data)
			memcpy(o->data, p, o->len);
	}
}

int take(struct out_seg *o)
{
	struct rte_mbuf *m;

	drain();
	if (fifo_n == 0)
		return -1;
	m = fifo[fifo_head];
	fifo_head = (fifo_head + 1) % FIFO_MAX;
	fifo_n--;
	parse(m, o);
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(o->sport, expect_sport);
	return 0;
}

void drop_out(void)
{
	struct out_seg o;

	while (take(&o) == 0)
		;
}

struct tcp_conn *handshake(uint16_t sport, uint32_t *iss)
{
	static const uint8_t opts[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
	struct out_seg o;
	int opened = app.opened;

	peer_send(sport, PEER_ISN, 0, RTE_TCP_SYN_FLAG, 65535, NULL, 0, opts, sizeof(opts));
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	CU_ASSERT_EQUAL(o.ack, PEER_ISN + 1);
	peer_send(sport, PEER_ISN + 1, o.seq + 1, RTE_TCP_ACK_FLAG, 512, NULL, 0, NULL, 0);
	CU_ASSERT_FATAL(app.opened == opened + 1);
	CU_ASSERT_EQUAL(nout(), 0);
	if (iss != NULL)
		*iss = o.seq;
	return app.last;
}

uint8_t ts_opts(uint8_t *o, uint32_t val, uint32_t ecr)
{
	uint32_t v = htonl(val), e = htonl(ecr);

	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	memcpy(o + 4, &v, 4);
	memcpy(o + 8, &e, 4);
	return 12;
}

void peer_send_ts(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
		  const void *data, uint32_t len, uint32_t ts_val, uint32_t ts_ecr)
{
	uint8_t opts[12];

	peer_send(sport, seq, ack, flags, wnd, data, len, opts, ts_opts(opts, ts_val, ts_ecr));
}

struct tcp_conn *handshake_ts(uint16_t sport, uint32_t *iss, uint32_t ts_val, uint32_t *our_ts)
{
	uint8_t opts[20] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
	struct out_seg o;
	int opened = app.opened;

	ts_opts(opts + 8, ts_val, 0);
	peer_send(sport, PEER_ISN, 0, RTE_TCP_SYN_FLAG, 65535, NULL, 0, opts, sizeof(opts));
	CU_ASSERT_FATAL(take(&o) == 0);
	CU_ASSERT_EQUAL(o.flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	CU_ASSERT_FATAL(o.has_ts);
	CU_ASSERT_EQUAL(o.ts_ecr, ts_val);
	peer_send_ts(sport, PEER_ISN + 1, o.seq + 1, RTE_TCP_ACK_FLAG, 512, NULL, 0, ts_val + 1,
		     o.ts_val);
	CU_ASSERT_FATAL(app.opened == opened + 1);
	CU_ASSERT_EQUAL(nout(), 0);
	if (iss != NULL)
		*iss = o.seq;
	if (our_ts != NULL)
		*our_ts = o.ts_val;
	return app.last;
}
