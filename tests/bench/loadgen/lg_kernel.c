/*
 * Kernel sockets: the same workload against a stock memcached (on loopback).
 * UDP: one non-blocking socket, requests and replies moved 64 at a time
 * with sendmmsg/recvmmsg, the window matching replies by frame request id.
 * TCP: --conns non-blocking connections, each with --window requests
 * pipelined, replies read when poll() says so.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	  64
#define DGRAM_MAX 2048

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct sockaddr_in server_addr(const struct lg_options *o)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o->server_port)};

	sa.sin_addr.s_addr = o->server_ip;
	return sa;
}

struct udp_ctx {
	int fd;
	struct lg_window *win;
	char (*tx)[LG_REQ_MAX + 8];
	char (*rx)[DGRAM_MAX];
};

static void udp_send(struct udp_ctx *u, struct lg_cursor *c, struct lg_stats *s, uint64_t now)
{
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint32_t keys[BATCH];
	enum lg_op ops[BATCH];
	unsigned int room = lg_window_room(u->win), n = 0;
	int sent;

	while (n < BATCH && n < room && lg_next(c, &keys[n], &ops[n])) {
		uint16_t id = (uint16_t)(u->win->next + n);
		char *b = u->tx[n];

		b[0] = (char)(id >> 8);
		b[1] = (char)id;
		memcpy(b + 2, "\0\0\0\1\0\0", 6);
		iov[n].iov_base = b;
		iov[n].iov_len = 8 + lg_request(c->w, ops[n], keys[n], b + 8);
		memset(&msg[n], 0, sizeof(msg[n]));
		msg[n].msg_hdr.msg_iov = &iov[n];
		msg[n].msg_hdr.msg_iovlen = 1;
		n++;
	}
	if (n == 0)
		return;
	sent = sendmmsg(u->fd, msg, n, MSG_DONTWAIT);
	if (sent < 0)
		sent = 0;
	for (int i = 0; i < sent; i++)
		lg_window_sent(u->win, keys[i], ops[i], now);
	s->sent += (uint64_t)sent;
	c->i -= n - (unsigned int)sent; /* the unsent ones go next time */
}

static void udp_receive(struct udp_ctx *u, const struct lg_workload *w, struct lg_stats *s)
{
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint64_t now;
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = u->rx[i];
		iov[i].iov_len = DGRAM_MAX;
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(u->fd, msg, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	now = now_ns();
	for (int i = 0; i < n; i++) {
		const unsigned char *b = (const unsigned char *)u->rx[i];
		size_t len = msg[i].msg_len;

		/* One datagram per reply here: seq 0 of 1. */
		if (len < 8 || b[2] != 0 || b[3] != 0 || b[4] != 0 || b[5] != 1) {
			s->bad++;
			continue;
		}
		lg_window_reply(u->win, w, s, (uint16_t)(b[0] << 8 | b[1]), (const char *)b + 8,
				len - 8, now);
	}
}

/* Run until `end` (ns), or for a preload until every key went out and came back. */
static void udp_phase(struct udp_ctx *u, struct lg_cursor *c, struct lg_stats *s, uint64_t end)
{
	for (;;) {
		uint64_t now = now_ns();

		if (now >= end)
			break;
		if (c->preload && c->i >= c->w->keys && u->win->outstanding == 0)
			break;
		udp_send(u, c, s, now);
		udp_receive(u, c->w, s);
		lg_window_expire(u->win, s, now_ns());
	}
}

static int preload_verdict(const struct lg_workload *w, const struct lg_stats *s)
{
	if (s->stored == w->keys)
		return 0;
	fprintf(stderr,
		"dpcache-loadgen: preload: %lu of %u keys stored (%lu lost, %lu late, %lu bad "
		"replies)\n",
		(unsigned long)s->stored, w->keys, (unsigned long)s->lost, (unsigned long)s->late,
		(unsigned long)s->bad);
	return -1;
}

static int run_udp(const struct lg_options *o, const struct lg_workload *w, struct lg_stats *s,
		   double *seconds)
{
	struct sockaddr_in sa = server_addr(o);
	struct udp_ctx u = {.fd = -1};
	struct lg_cursor c = {.w = w};
	int buf = 8 << 20, rc = -1;
	uint64_t t0;

	u.win = lg_window_new(o->window, (uint64_t)(o->timeout_ms * 1e6), 1.0);
	u.tx = malloc(BATCH * sizeof(*u.tx));
	u.rx = malloc(BATCH * sizeof(*u.rx));
	u.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (u.win == NULL || u.tx == NULL || u.rx == NULL || u.fd < 0)
		goto out;
	setsockopt(u.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(u.fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (connect(u.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("dpcache-loadgen: connect");
		goto out;
	}
	if (o->preload) {
		/* Every key must be stored: a reply late by a preempted moment still counts. */
		uint64_t timeout = u.win->timeout;

		u.win->timeout = timeout > 5000000000ull ? timeout : 5000000000ull;
		c.preload = true;
		udp_phase(&u, &c, s, now_ns() + 60 * 1000000000ull);
		u.win->timeout = timeout;
		if (preload_verdict(w, s) < 0)
			goto out;
		c.preload = false;
		c.i = 0;
	}
	udp_phase(&u, &c, s, now_ns() + (uint64_t)(o->warmup * 1e9));
	lg_stats_reset(s);
	t0 = now_ns();
	udp_phase(&u, &c, s, t0 + (uint64_t)(o->duration * 1e9));
	*seconds = (double)(now_ns() - t0) / 1e9;
	rc = 0;
out:
	if (u.fd >= 0)
		close(u.fd);
	free(u.win);
	free(u.tx);
	free(u.rx);
	return rc;
}

struct tcp_conn {
	int fd;
	struct lg_stream st;
	char *out;
	size_t out_len, out_off;
};

#define TCP_OUT (256 * 1024)

static int tcp_connect(const struct lg_options *o, struct tcp_conn *tc)
{
	struct sockaddr_in sa = server_addr(o);
	int one = 1;

	tc->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (tc->fd < 0 || connect(tc->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("dpcache-loadgen: connect");
		return -1;
	}
	setsockopt(tc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Writes what is queued; queues more requests when all went. -1: connection lost. */
static int tcp_write(struct tcp_conn *tc, struct lg_cursor *c, struct lg_stats *s, uint64_t now)
{
	ssize_t n;

	if (tc->out_off == tc->out_len) {
		tc->out_off = 0;
		tc->out_len = lg_stream_output(&tc->st, c, s, tc->out, TCP_OUT, now);
	}
	if (tc->out_off == tc->out_len)
		return 0;
	n = send(tc->fd, tc->out + tc->out_off, tc->out_len - tc->out_off, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	tc->out_off += (size_t)n;
	return 0;
}

static int tcp_read(struct tcp_conn *tc, const struct lg_workload *w, struct lg_stats *s)
{
	char buf[16384];
	ssize_t n = recv(tc->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	return lg_stream_input(&tc->st, w, s, buf, (size_t)n, now_ns());
}

static bool tcp_idle(const struct tcp_conn *tc, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (lg_stream_pending(&tc[i].st) != 0 || tc[i].out_off != tc[i].out_len)
			return false;
	return true;
}

static int tcp_phase(struct tcp_conn *tc, unsigned int n, struct pollfd *pfd, struct lg_cursor *c,
		     struct lg_stats *s, uint64_t end)
{
	for (;;) {
		uint64_t now = now_ns();

		if (now >= end)
			return c->preload ? -1 : 0;
		if (c->preload && c->i >= c->w->keys && tcp_idle(tc, n))
			return 0;
		for (unsigned int i = 0; i < n; i++)
			if (tcp_write(&tc[i], c, s, now) < 0)
				goto lost;
		if (poll(pfd, n, 1) < 0)
			continue;
		for (unsigned int i = 0; i < n; i++)
			if ((pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0 &&
			    tcp_read(&tc[i], c->w, s) < 0)
				goto lost;
	}
lost:
	fprintf(stderr, "dpcache-loadgen: a TCP connection failed (closed, reset or garbage)\n");
	return -1;
}

static int run_tcp(const struct lg_options *o, const struct lg_workload *w, struct lg_stats *s,
		   double *seconds)
{
	struct tcp_conn *tc = calloc(o->conns, sizeof(*tc));
	struct pollfd *pfd = calloc(o->conns, sizeof(*pfd));
	struct lg_cursor c = {.w = w};
	unsigned int n = 0;
	uint64_t t0;
	int rc = -1;

	if (tc == NULL || pfd == NULL)
		goto out;
	for (; n < o->conns; n++) {
		tc[n].out = malloc(TCP_OUT);
		if (tc[n].out == NULL || lg_stream_init(&tc[n].st, o->window, 1.0) < 0 ||
		    tcp_connect(o, &tc[n]) < 0) {
			n++;
			goto out;
		}
		pfd[n].fd = tc[n].fd;
		pfd[n].events = POLLIN;
	}
	if (o->preload) {
		c.preload = true;
		if (tcp_phase(tc, n, pfd, &c, s, now_ns() + 120 * 1000000000ull) < 0 ||
		    preload_verdict(w, s) < 0)
			goto out;
		c.preload = false;
		c.i = 0;
	}
	if (tcp_phase(tc, n, pfd, &c, s, now_ns() + (uint64_t)(o->warmup * 1e9)) < 0)
		goto out;
	lg_stats_reset(s);
	t0 = now_ns();
	if (tcp_phase(tc, n, pfd, &c, s, t0 + (uint64_t)(o->duration * 1e9)) < 0)
		goto out;
	*seconds = (double)(now_ns() - t0) / 1e9;
	rc = 0;
out:
	for (unsigned int i = 0; tc != NULL && i < n; i++) {
		if (tc[i].fd > 0)
			close(tc[i].fd);
		lg_stream_free(&tc[i].st);
		free(tc[i].out);
	}
	free(tc);
	free(pfd);
	return rc;
}

int lg_run_kernel(const struct lg_options *o, const struct lg_workload *w, struct lg_stats *s,
		  double *seconds)
{
	return o->proto == LG_UDP ? run_udp(o, w, s, seconds) : run_tcp(o, w, s, seconds);
}
