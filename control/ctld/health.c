/*
 * Health probes (see health.h). A TKO server is not taken out of its pool's
 * ring: the config marks it TKO and clients send its keys to the gutter pool.
 * Rehashing them onto the pool's other servers would push a failed server's
 * load onto its neighbours and, when it flaps, leave stale copies behind;
 * the gutter's short TTL bounds that staleness instead (paper, §3.3).
 */
#include "health.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *probe_request(const struct health *h)
{
	return h->par.meta ? "mn\r\n" : "version\r\n";
}

static int good_reply(const struct health *h, const char *line)
{
	if (h->par.meta)
		return strncmp(line, "MN\r\n", 4) == 0 || strcmp(line, "MN\n") == 0;
	return strncmp(line, "VERSION ", 8) == 0;
}

uint64_t health_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void health_init(struct health *h, const struct health_params *par)
{
	memset(h, 0, sizeof(*h));
	h->par = *par;
}

static void probe_close(struct probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->phase = PROBE_IDLE;
	p->len = 0;
}

void health_stop(struct health *h)
{
	for (size_t i = 0; i < h->n; i++)
		probe_close(&h->probes[i]);
}

void health_resume(struct health *h, uint64_t now_ms)
{
	for (size_t i = 0; i < h->n; i++) {
		probe_close(&h->probes[i]);
		h->probes[i].next_ms = now_ms;
	}
}

void health_fini(struct health *h)
{
	health_stop(h);
	free(h->probes);
	h->probes = NULL;
	h->n = 0;
}

struct probe *health_find(struct health *h, const char *addr)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->probes[i].addr, addr) == 0)
			return &h->probes[i];
	return NULL;
}

int health_sync(struct health *h, const struct cfg *c, uint64_t now_ms)
{
	struct probe *next = calloc(c->n_servers ? c->n_servers : 1, sizeof(*next));

	if (next == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_servers; i++) {
		const struct cfg_server *s = &c->servers[i];
		struct probe *old = health_find(h, s->addr);

		if (old != NULL) {
			next[i] = *old;
			old->fd = -1; /* moved */
		} else {
			next[i].fd = -1;
			strcpy(next[i].addr, s->addr);
			next[i].next_ms = now_ms;
			next[i].backoff_ms = h->par.interval_ms;
			next[i].registered = -1;
		}
		/* The config is the truth (e.g. after a takeover, or a failed commit). */
		next[i].tko = s->tko;
	}
	health_stop(h); /* closes the probes of removed servers */
	free(h->probes);
	h->probes = next;
	h->n = c->n_servers;
	return 0;
}

void health_probe_now(struct probe *p, uint64_t now_ms)
{
	if (p->phase == PROBE_IDLE && p->next_ms > now_ms)
		p->next_ms = now_ms;
}

/*
 * While a server is up its probes start one interval apart, measured from
 * start to start: a probe that waits out its timeout does not push the next
 * one back. So a hung server (connects, never answers) is TKO within the
 * documented budget, K x interval + timeout (timeout <= interval), like a
 * dead one, instead of K x (interval + timeout).
 */
static uint64_t next_start(const struct probe *p, const struct health_params *par, uint64_t now_ms)
{
	uint64_t at = p->started_ms + par->interval_ms;

	return at > now_ms ? at : now_ms;
}

enum health_transition health_record(struct probe *p, const struct health_params *par, int ok,
				     uint64_t now_ms)
{
	enum health_transition t = HEALTH_SAME;

	if (ok) {
		p->n.probes_ok++;
		p->oks++;
		p->fails = 0;
		if (p->tko && p->oks >= par->recover_after) {
			p->tko = 0;
			p->n.recoveries++;
			t = HEALTH_RECOVERED;
		}
		p->backoff_ms = par->interval_ms;
		p->next_ms = next_start(p, par, now_ms);
		return t;
	}
	p->n.probes_failed++;
	p->fails++;
	p->oks = 0;
	if (!p->tko && p->fails >= par->tko_after) {
		p->tko = 1;
		p->n.tko_events++;
		p->backoff_ms = par->interval_ms;
		t = HEALTH_WENT_TKO;
	}
	if (p->tko) {
		/* Back off: a dead server need not be hammered every interval. */
		p->backoff_ms *= 2;
		if (p->backoff_ms > par->backoff_max_ms)
			p->backoff_ms = par->backoff_max_ms;
		if (p->backoff_ms < par->interval_ms)
			p->backoff_ms = par->interval_ms;
		p->next_ms = now_ms + p->backoff_ms;
	} else {
		p->next_ms = next_start(p, par, now_ms);
	}
	return t;
}

static void add_totals(struct health *h, const struct health_counters *before,
		       const struct probe *p)
{
#define HEALTH_COUNTER_ADD(name) h->total.name += p->n.name - before->name;
	HEALTH_COUNTERS(HEALTH_COUNTER_ADD)
#undef HEALTH_COUNTER_ADD
}

static void finish(struct health *h, struct probe *p, int ok, const char *why, uint64_t now_ms)
{
	struct health_counters before = p->n;
	enum health_transition t;

	probe_close(p);
	if (ok) {
		p->last_rtt_ms = now_ms - p->started_ms;
		p->last_error[0] = '\0';
	} else {
		snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	}
	t = health_record(p, &h->par, ok, now_ms);
	add_totals(h, &before, p);
	if (t == HEALTH_WENT_TKO) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%u consecutive failed probes, last: %s", p->fails, why);
		if (h->on_transition != NULL)
			h->on_transition(h->ctx, p->addr, 1, msg);
	} else if (t == HEALTH_RECOVERED && h->on_transition != NULL) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%u consecutive good probes", p->oks);
		h->on_transition(h->ctx, p->addr, 0, msg);
	}
}

static int split_addr(const char *addr, char *host, size_t hostlen, const char **port)
{
	const char *colon = strrchr(addr, ':');

	if (colon == NULL || (size_t)(colon - addr) >= hostlen)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = colon + 1;
	return 0;
}

static void send_request(struct health *h, struct probe *p, uint64_t now_ms)
{
	const char *req = probe_request(h);
	ssize_t n = send(p->fd, req, strlen(req), MSG_NOSIGNAL);

	if (n != (ssize_t)strlen(req)) {
		finish(h, p, 0, n < 0 ? strerror(errno) : "short send", now_ms);
		return;
	}
	p->phase = PROBE_WAITING;
}

static void start(struct health *h, struct probe *p, uint64_t now_ms)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char host[CFG_ADDR_MAX];
	const char *port;
	int rc;

	p->started_ms = now_ms;
	p->deadline_ms = now_ms + h->par.timeout_ms;
	p->n.probes_sent++;
	h->total.probes_sent++;
	if (split_addr(p->addr, host, sizeof(host), &port) < 0) {
		finish(h, p, 0, "bad address", now_ms);
		return;
	}
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV; /* a name: resolving it may block */
		rc = getaddrinfo(host, port, &hints, &ai);
	}
	if (rc != 0) {
		finish(h, p, 0, gai_strerror(rc), now_ms);
		return;
	}
	p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		freeaddrinfo(ai);
		finish(h, p, 0, strerror(errno), now_ms);
		return;
	}
	rc = connect(p->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc == 0) {
		send_request(h, p, now_ms);
	} else if (errno == EINPROGRESS) {
		p->phase = PROBE_CONNECTING;
	} else {
		finish(h, p, 0, strerror(errno), now_ms);
	}
}

size_t health_pollfds(struct health *h, struct pollfd *fds, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n && k < max; i++) {
		struct probe *p = &h->probes[i];

		if (p->phase == PROBE_IDLE)
			continue;
		fds[k].fd = p->fd;
		fds[k].events = p->phase == PROBE_CONNECTING ? POLLOUT : POLLIN;
		fds[k].revents = 0;
		k++;
	}
	return k;
}

static void on_readable(struct health *h, struct probe *p, uint64_t now_ms)
{
	ssize_t n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len, 0);
	char *eol;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		finish(h, p, 0, n == 0 ? "connection closed" : strerror(errno), now_ms);
		return;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	eol = strchr(p->buf, '\n');
	if (eol == NULL) {
		if (p->len == sizeof(p->buf) - 1)
			finish(h, p, 0, "reply line too long", now_ms);
		return;
	}
	finish(h, p, good_reply(h, p->buf), "unexpected reply", now_ms);
}

void health_input(struct health *h, int fd, short revents, uint64_t now_ms)
{
	for (size_t i = 0; i < h->n; i++) {
		struct probe *p = &h->probes[i];
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (p->fd != fd || p->phase == PROBE_IDLE)
			continue;
		if (p->phase == PROBE_CONNECTING) {
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
			if (soerr != 0)
				finish(h, p, 0, strerror(soerr), now_ms);
			else if (revents & (POLLOUT | POLLERR | POLLHUP))
				send_request(h, p, now_ms);
		} else if (revents & (POLLIN | POLLERR | POLLHUP)) {
			on_readable(h, p, now_ms);
		}
		return;
	}
}

uint64_t health_tick(struct health *h, uint64_t now_ms)
{
	uint64_t wait = 1000;

	for (size_t i = 0; i < h->n; i++) {
		struct probe *p = &h->probes[i];

		if (p->phase != PROBE_IDLE && now_ms >= p->deadline_ms) {
			p->n.probes_timed_out++;
			h->total.probes_timed_out++;
			finish(h, p, 0, "timed out", now_ms);
		}
		if (p->phase == PROBE_IDLE && now_ms >= p->next_ms)
			start(h, p, now_ms);
		if (p->phase != PROBE_IDLE) {
			if (p->deadline_ms - now_ms < wait)
				wait = p->deadline_ms > now_ms ? p->deadline_ms - now_ms : 0;
		} else if (p->next_ms - now_ms < wait) {
			wait = p->next_ms > now_ms ? p->next_ms - now_ms : 0;
		}
	}
	return wait;
}
