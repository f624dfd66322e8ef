/*
 * Health probes. Every server gets a memcache `version` request (or the meta
 * protocol's no-op `mn`) over TCP at a fixed interval; a reply that starts
 * with "VERSION " (or is "MN") within the timeout is a good probe. K consecutive failures make the server TKO; while TKO it is
 * probed with exponential backoff (capped); M consecutive good probes bring it
 * back. Probes never block: connects and reads are non-blocking and driven by
 * the daemon's poll loop.
 */
#ifndef DPCACHE_CTLD_HEALTH_H
#define DPCACHE_CTLD_HEALTH_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/config.h"

struct health_params {
	unsigned interval_ms;	 /* between probes of a healthy server */
	unsigned timeout_ms;	 /* connect + reply */
	unsigned tko_after;	 /* K: consecutive failures that make a server TKO */
	unsigned recover_after;	 /* M: consecutive successes that end TKO */
	unsigned backoff_max_ms; /* cap of the probe interval while TKO */
	int meta;		 /* probe with `mn` instead of `version` */
};

/* Events and counters: one X-macro, so the struct and `status` agree. */
#define HEALTH_COUNTERS(X)  \
	X(probes_sent)      \
	X(probes_ok)        \
	X(probes_failed)    \
	X(probes_timed_out) \
	X(tko_events)       \
	X(recoveries)

struct health_counters {
#define HEALTH_COUNTER_FIELD(name) uint64_t name;
	HEALTH_COUNTERS(HEALTH_COUNTER_FIELD)
#undef HEALTH_COUNTER_FIELD
};

enum probe_phase { PROBE_IDLE, PROBE_CONNECTING, PROBE_WAITING };

struct probe {
	char addr[CFG_ADDR_MAX];
	int fd;
	enum probe_phase phase;
	uint64_t next_ms;     /* when the next probe starts */
	uint64_t deadline_ms; /* when the one in flight fails */
	uint64_t started_ms;
	unsigned fails; /* consecutive */
	unsigned oks;	/* consecutive */
	unsigned backoff_ms;
	int tko;
	int registered; /* in the store's registry: 1, 0, or -1 (unknown) */
	uint64_t last_rtt_ms;
	char last_error[64];
	char buf[128];
	size_t len;
	struct health_counters n;
};

/* What a probe result did to the server's state. */
enum health_transition { HEALTH_SAME, HEALTH_WENT_TKO, HEALTH_RECOVERED };

struct health {
	struct health_params par;
	struct probe *probes;
	size_t n;
	struct health_counters total;
	/* Called on every transition (the daemon commits it to the config). */
	void (*on_transition)(void *ctx, const char *addr, int tko, const char *why);
	void *ctx;
};

void health_init(struct health *h, const struct health_params *par);
void health_fini(struct health *h);
/* Match the probes to the config's servers (new ones start at the config's TKO state). */
int health_sync(struct health *h, const struct cfg *c, uint64_t now_ms);
/* Stop every probe in flight (leadership lost). */
void health_stop(struct health *h);
/*
 * After the daemon itself stalled (SIGSTOP, a paused VM): drop the probes in
 * flight without counting them, and probe everything now. Our pause is not
 * the servers' failure.
 */
void health_resume(struct health *h, uint64_t now_ms);
/* Fill @p fds with the probes in flight (at most @p max); returns the count. */
size_t health_pollfds(struct health *h, struct pollfd *fds, size_t max);
/* Handle one polled fd's events. */
void health_input(struct health *h, int fd, short revents, uint64_t now_ms);
/* Start due probes, fail late ones; returns ms until the next deadline. */
uint64_t health_tick(struct health *h, uint64_t now_ms);
struct probe *health_find(struct health *h, const char *addr);
/* Probe @p p at the next tick instead of at its scheduled time. */
void health_probe_now(struct probe *p, uint64_t now_ms);

/*
 * The state machine, alone (unit tests drive it): record one probe result on
 * @p p at @p now_ms, update its counters and schedule the next probe.
 */
enum health_transition health_record(struct probe *p, const struct health_params *par, int ok,
				     uint64_t now_ms);

uint64_t health_now_ms(void);

#endif
