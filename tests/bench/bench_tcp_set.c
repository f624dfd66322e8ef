/*
 * The cost of a TCP set on the server's own path, deterministic: the TCP
 * engine, the memcache service (dataplane/tcp_service.c), the executor and
 * the store driven in-process, with no NIC and no worker loop around them.
 *
 *   bench_tcp_set [--conns N] [--window N] [--keys N] [--key-len N]
 *                 [--value-len N] [--rounds N]
 *
 * A pretend client opens --conns connections (SYN with MSS 1460, no window
 * scaling: as dpcache-loadgen's TCP does), preloads every key, then runs
 * --rounds rounds. In a round each connection sends --window pipelined
 * `set <key> 0 0 <len>` requests (keys drawn uniformly, values as the
 * loadgen's) cut into segments of at most the MSS, each carrying the ACK of
 * everything the server sent so far; the server takes them as one RX burst
 * (tcp_input each), runs its timers and the service's pool check, and drains
 * its output; the output of the previous round is freed, as a TX queue
 * would. Everything the server sends is checked: in order, no RST or FIN,
 * and the payload exactly one `STORED\r\n` per set (exit 1 otherwise).
 *
 * The server's work of a measured round is all inside bench_measured(), so
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_measured bench_tcp_set
 *
 * counts it; the program prints `sets N` (the sets in measured rounds): the
 * instructions per set are callgrind's total over N (scripts/bench.sh tcp
 * prints it). Run natively, it also prints `ns_per_set` (not comparable
 * across machines or loads: the count is the figure).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "store/store.h"
#include "tcp_service.h"

#define NOW_UNIX   1700000000u
#define POOL_SIZE  16384 /* as dpcached's pool for one worker */
#define POOL_CACHE 256
#define PEER_MSS   1460
#define PEER_WND   65535
#define SRV_PORT   11211
#define PEER_PORT0 40000
#define OUT_MAX	   4096
#define IN_MAX	   4096

static const struct rte_ether_addr srv_mac = {{2, 0, 0, 0, 0, 2}};
static const struct rte_ether_addr peer_mac = {{2, 0, 0, 0, 0, 1}};
static uint32_t srv_ip, peer_ip;

struct opts {
	unsigned int conns, window, keys, key_len, value_len, rounds;
};

/* One client connection. */
struct peer {
	uint16_t port;
	uint32_t snd_nxt; /* our next sequence number */
	uint32_t rcv_nxt; /* the server's next byte */
	uint16_t srv_mss;
	uint64_t replies;  /* STORED\r\n seen */
	uint32_t reply_at; /* position within the STORED\r\n being read */
};

static struct tcp_service svc;
static struct rte_mempool *pool;
static struct peer *peers;
static uint64_t now_us = 1000000;
static struct rte_mbuf *out[OUT_MAX]; /* the server's output of the last burst */
static unsigned int nout;
static struct rte_mbuf *in[IN_MAX]; /* the next burst */
static unsigned int nin;
static const char *failure;

static void fail(const char *why)
{
	if (failure == NULL)
		failure = why;
}

static void capture(void *arg, struct rte_mbuf *m)
{
	(void)arg;
	if (nout == OUT_MAX) {
		fail("server output beyond the bench's queue");
		rte_pktmbuf_free(m);
		return;
	}
	out[nout++] = m;
}

/* A segment from peer p: flags, payload, the MSS option on a SYN. */
static void segment(struct peer *p, uint8_t flags, const char *data, uint32_t len)
{
	uint16_t thl = sizeof(struct rte_tcp_hdr) + ((flags & RTE_TCP_SYN_FLAG) ? 4 : 0);
	uint16_t hl = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + thl;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	if (m == NULL || nin == IN_MAX) {
		fail("out of mbufs or burst room for the client");
		rte_pktmbuf_free(m);
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	if (eth == NULL) {
		fail("a segment larger than an mbuf");
		rte_pktmbuf_free(m);
		return;
	}
	memset(eth, 0, hl);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	eth->dst_addr = srv_mac;
	eth->src_addr = peer_mac;
	eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = htons((uint16_t)(hl - sizeof(*eth) + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = peer_ip;
	ip->dst_addr = srv_ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = htons(p->port);
	th->dst_port = htons(SRV_PORT);
	th->sent_seq = htonl(p->snd_nxt);
	th->recv_ack = htonl((flags & RTE_TCP_ACK_FLAG) ? p->rcv_nxt : 0);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = htons(PEER_WND);
	if (flags & RTE_TCP_SYN_FLAG) {
		uint8_t *o = (uint8_t *)(th + 1);

		o[0] = 2;
		o[1] = 4;
		o[2] = PEER_MSS >> 8;
		o[3] = PEER_MSS & 0xff;
	}
	if (len > 0)
		memcpy((char *)th + thl, data, len);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	p->snd_nxt += len + !!(flags & RTE_TCP_SYN_FLAG);
	in[nin++] = m;
}

/*
 * The server's side of one burst: what a worker loop does for one RX burst
 * of TCP frames (net_input's IPv4 checks aside), and the TX queue freeing
 * the previous burst's frames.
 */
__attribute__((noinline)) static void server_burst(void)
{
	rte_pktmbuf_free_bulk(out, nout);
	nout = 0;
	svc.now = NOW_UNIX;
	tcp_timers_run(&svc.tw, now_us);
	tcp_service_retry(&svc);
	for (unsigned int i = 0; i < nin; i++)
		tcp_input(&svc.tw, in[i]);
	tcp_tx_drain(&svc.tw, capture, NULL);
}

/*
 * A measured burst: callgrind counts from here (--toggle-collect). Handshakes
 * and the preload call server_burst() directly. (It counts its bursts so
 * that the compiler cannot fold it into another function.)
 */
static unsigned long measured_bursts;
__attribute__((noinline)) void bench_measured(void);
__attribute__((noinline)) void bench_measured(void)
{
	measured_bursts++;
	server_burst();
}

/* Read the server's output of the last burst: in order, replies exact. */
static void check_output(void)
{
	static const char stored[] = "STORED\r\n";
	static uint8_t flat[65536];

	for (unsigned int i = 0; i < nout; i++) {
		struct rte_mbuf *m = out[i];
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
		    m, const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
		uint32_t doff = (th->data_off >> 4) * 4u;
		uint32_t len = ntohs(ip->total_length) - (uint32_t)sizeof(*ip) - doff;
		unsigned int idx = ntohs(th->dst_port) - PEER_PORT0;
		const uint8_t *d;
		struct peer *p;

		if (idx >= svc.tw.cfg.max_conns || peers[idx].port == 0) {
			fail("a segment for no client connection");
			continue;
		}
		p = &peers[idx];
		if (th->tcp_flags & (RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) {
			fail("the server reset or closed a connection");
			continue;
		}
		if (th->tcp_flags & RTE_TCP_SYN_FLAG) {
			p->rcv_nxt = ntohl(th->sent_seq) + 1;
			p->srv_mss = PEER_MSS;
			continue;
		}
		if (len == 0)
			continue;
		if (ntohl(th->sent_seq) != p->rcv_nxt) {
			fail("server data out of order (in-process: nothing is lost)");
			continue;
		}
		d = rte_pktmbuf_read(
		    m, (uint32_t)(sizeof(struct rte_ether_hdr) + sizeof(*ip) + doff), len, flat);
		for (uint32_t j = 0; j < len; j++) {
			if (d[j] != (uint8_t)stored[p->reply_at]) {
				fail("a reply other than STORED");
				break;
			}
			if (++p->reply_at == sizeof(stored) - 1) {
				p->reply_at = 0;
				p->replies++;
			}
		}
		p->rcv_nxt += len;
	}
}

static uint64_t xorshift(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/* dpcache-loadgen's request for key k: "set lg:000..k 0 0 <len>\r\n<value>\r\n". */
static size_t request(const struct opts *o, uint32_t k, char *buf)
{
	char fmt[32];
	size_t n;

	snprintf(fmt, sizeof(fmt), "set lg:%%0%uu 0 0 %u\r\n", o->key_len - 3, o->value_len);
	n = (size_t)sprintf(buf, fmt, k);
	for (unsigned int j = 0; j < o->value_len; j++)
		buf[n++] = (char)('a' + (k * 7u + j) % 26);
	buf[n++] = '\r';
	buf[n++] = '\n';
	return n;
}

/* Which keys: every key in order (the preload), then uniform draws. */
struct keygen {
	bool preload;
	uint32_t next, keys;
	uint64_t rng;
};

static uint32_t next_key(struct keygen *kg)
{
	if (kg->preload)
		return kg->next++ % kg->keys;
	return (uint32_t)(xorshift(&kg->rng) % kg->keys);
}

/* One round: every connection sends `window` sets, cut at the MSS. */
static uint64_t round_segments(const struct opts *o, struct keygen *kg)
{
	static char buf[256 * 1024];
	uint64_t sets = 0;

	for (unsigned int c = 0; c < o->conns; c++) {
		struct peer *p = &peers[c];
		size_t len = 0;

		for (unsigned int i = 0; i < o->window && len + 2048 < sizeof(buf); i++) {
			len += request(o, next_key(kg), buf + len);
			sets++;
		}
		for (size_t off = 0; off < len;) {
			uint32_t n = (uint32_t)RTE_MIN(len - off, (size_t)p->srv_mss);

			segment(p, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, buf + off, n);
			off += n;
		}
	}
	return sets;
}

static uint64_t replies(const struct opts *o)
{
	uint64_t n = 0;

	for (unsigned int c = 0; c < o->conns; c++)
		n += peers[c].replies;
	return n;
}

static int handshakes(const struct opts *o)
{
	for (unsigned int c = 0; c < o->conns; c++) {
		peers[c].port = (uint16_t)(PEER_PORT0 + c);
		peers[c].snd_nxt = 0x10000000u * (c + 1);
		segment(&peers[c], RTE_TCP_SYN_FLAG, NULL, 0);
	}
	server_burst();
	nin = 0;
	check_output();
	for (unsigned int c = 0; c < o->conns; c++)
		segment(&peers[c], RTE_TCP_ACK_FLAG, NULL, 0);
	server_burst();
	nin = 0;
	check_output();
	for (unsigned int c = 0; c < o->conns; c++)
		if (peers[c].srv_mss == 0)
			fail("a handshake did not complete");
	return failure == NULL && tcp_counter_read(&svc.tw.ctr.curr_connections) == o->conns ? 0
											     : -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.conns = 8,
			   .window = 32,
			   .keys = 100000,
			   .key_len = 32,
			   .value_len = 100,
			   .rounds = 200};
	for (int i = 1; i < argc; i++) {
		unsigned int *v = NULL;

		if (strcmp(argv[i], "--conns") == 0)
			v = &o->conns;
		else if (strcmp(argv[i], "--window") == 0)
			v = &o->window;
		else if (strcmp(argv[i], "--keys") == 0)
			v = &o->keys;
		else if (strcmp(argv[i], "--key-len") == 0)
			v = &o->key_len;
		else if (strcmp(argv[i], "--value-len") == 0)
			v = &o->value_len;
		else if (strcmp(argv[i], "--rounds") == 0)
			v = &o->rounds;
		if (v == NULL || i + 1 >= argc) {
			fprintf(stderr, "bench_tcp_set: unknown or incomplete option '%s'\n",
				argv[i]);
			return -1;
		}
		*v = (unsigned int)strtoul(argv[++i], NULL, 10);
	}
	if (o->conns == 0 || o->conns > 256 || o->window == 0 || o->keys == 0 || o->key_len < 4 ||
	    o->key_len > 250 || o->value_len > 1024 || o->rounds == 0) {
		fprintf(stderr, "bench_tcp_set: conns 1..256, window > 0, key-len 4..250, "
				"value-len <= 1024\n");
		return -1;
	}
	return 0;
}

static int eal_init(void)
{
	char prefix[32];
	char *argv[] = {"bench_tcp_set",
			"--no-huge",
			"-m",
			"512",
			"--no-pci",
			"--no-shconf",
			"--no-telemetry",
			"-l",
			"0",
			"--log-level=error",
			"--file-prefix",
			prefix};

	snprintf(prefix, sizeof(prefix), "benchtcp%d", getpid());
	return rte_eal_init(sizeof(argv) / sizeof(argv[0]), argv) < 0 ? -1 : 0;
}

static int setup(const struct opts *o, struct store **store)
{
	struct store_config scfg = {.limit_bytes = 64ull << 20, .partitions = 1, .threads = 2};
	struct tcp_config cfg;

	pool = rte_pktmbuf_pool_create("bench_mbuf", POOL_SIZE, POOL_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	peers = calloc(o->conns, sizeof(*peers));
	if (pool == NULL || peers == NULL || store_setup(&scfg, store) < 0)
		return -1;
	/* As dpcached configures a worker's engine on a port without offloads (net_memif). */
	tcp_config_defaults(&cfg);
	srv_ip = inet_addr("198.18.0.2");
	peer_ip = inet_addr("198.18.0.1");
	cfg.local_ip = srv_ip;
	cfg.local_mac = srv_mac;
	cfg.port = SRV_PORT;
	cfg.max_conns = 1024;
	for (int i = 0; i < 4; i++)
		cfg.cookie_secret[i] = 0x9e3779b9u * (uint32_t)(i + 1); /* same ISNs every run */
	return tcp_service_setup(&svc, &cfg, *store, 0, PROTO_ITEM_SIZE_MAX_DEFAULT, pool);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct store *store = NULL;
	struct keygen kg = {.preload = true, .rng = 0x2545f4914f6cdd1dull};
	uint64_t preloaded, sets = 0, cycles = 0;
	char rundir[PATH_MAX];
	int rc = 1;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (eal_init() < 0 || setup(&o, &store) < 0) {
		fprintf(stderr, "bench_tcp_set: set-up failed\n");
		return 1;
	}
	if (handshakes(&o) < 0)
		goto out;
	kg.keys = o.keys;
	while (failure == NULL && kg.next < o.keys) {
		round_segments(&o, &kg);
		now_us += 20;
		server_burst();
		nin = 0;
		check_output();
	}
	preloaded = kg.next;
	kg.preload = false;
	for (unsigned int r = 0; failure == NULL && r < o.rounds; r++) {
		uint64_t t0;

		sets += round_segments(&o, &kg);
		now_us += 20;
		t0 = rte_rdtsc();
		bench_measured();
		cycles += rte_rdtsc() - t0;
		nin = 0;
		check_output();
	}
	if (failure == NULL && replies(&o) != sets + preloaded)
		fail("replies missing");
	if (failure != NULL)
		goto out;
	printf("sets %llu\n", (unsigned long long)sets);
	printf("bursts %lu\n", measured_bursts);
	printf("ns_per_set %.1f\n", (double)cycles * 1e9 / (double)rte_get_tsc_hz() / (double)sets);
	rc = 0;
out:
	if (failure != NULL)
		fprintf(stderr, "bench_tcp_set: %s\n", failure);
	rte_pktmbuf_free_bulk(out, nout);
	rte_pktmbuf_free_bulk(in, nin);
	tcp_service_teardown(&svc);
	store_teardown(store, false);
	free(peers);
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(rundir); /* --no-shconf leaves it empty */
	return rc;
}
