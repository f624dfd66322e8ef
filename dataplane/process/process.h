/*
 * The executor: the one place where the protocol (lib/proto) and the store
 * (dataplane/store) meet. A connection's bytes go in, replies come out in a
 * struct proto_out; nothing here does I/O, so the TCP path, the UDP path and
 * the tests drive it alike.
 */
#ifndef DPCACHE_PROCESS_H
#define DPCACHE_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/proto.h"
#include "store/store.h"

/*
 * What `version` answers over memcache: the memcached release whose protocol
 * we speak, then ours. Clients parse the leading x.y.z to pick features
 * (libmemcached's memcapable expects 1.6 behaviour from it).
 */
#define PROCESS_VERSION "1.6.18-dpcache-" DPCACHE_VERSION

/* Per worker: the store as this thread sees it, and what `version` says. */
/* What `stats settings` reports beyond the store's own configuration. */
struct process_settings {
	unsigned int tcp_port, udp_port, max_conns, threads;
};

struct process_worker {
	const struct process_settings *settings; /* NULL: ports and limits unknown */
	struct store *store;
	struct store_thread *thread;
	const char *version;  /* "1.6.18"-like, for VERSION */
	bool flush_disabled;  /* -F: flush_all answers CLIENT_ERROR flush_all not allowed */
	uint64_t conn_errors; /* replies that did not fit the output (connection closed) */
};

/* Per connection: the parser, and a storage value that is still arriving. */
struct process_conn {
	struct proto_parser parser;
	char line[PROTO_LINE_BUF_DEFAULT];
	bool pending;	       /* a partial value is being written into `sp` */
	bool pending_reserved; /* `sp` holds a reserved item */
	uint32_t pending_off;
	struct store_pending sp;
	struct proto_request preq; /* the request of the pending value (spans not valid) */
	char pkey[PROTO_KEY_MAX + 1];
	uint32_t pkey_len;
	/* A multiget paused at the reply's soft limit (process_resume). */
	bool paused;
	uint32_t get_pos;		/* where its key list goes on */
	size_t paused_rest;		/* input bytes after it (or a yield), not parsed yet */
	struct proto_request get_req;	/* its spans point into the input or the parser */
};

/*
 * `stats conns`: the transport that owns connections (dataplane/tcp_service)
 * writes memcached's per-connection STAT lines into `out`; the executor adds
 * END. Set once at start-up, for every executor (TCP, UDP, admin socket);
 * NULL (the default): `stats conns` answers END alone.
 */
typedef void (*process_stats_conns_fn)(void *ctx, struct proto_out *out, uint32_t now);
void process_set_stats_conns(process_stats_conns_fn fn, void *ctx);

/*
 * Run requests as store thread `tid`, answering `version` with PROCESS_VERSION.
 * Returns 0, or -EINVAL if the store has no such thread.
 */
int process_worker_init(struct process_worker *w, struct store *store, unsigned tid);

void process_conn_init(struct process_conn *c, const struct proto_config *cfg);
/* Drop a half-received value (connection closed). */
void process_conn_close(struct process_worker *w, struct process_conn *c);

/* What process_input wants done with the connection afterwards. */
enum process_status {
	PROCESS_OK = 0,	   /* all input consumed, replies in `out` */
	PROCESS_CLOSE = 1, /* send `out`, then close (quit, or memcached closes too) */
	PROCESS_PAUSED = 2, /* a multiget stopped at out's soft limit: see process_resume */
	PROCESS_YIELD = 3,  /* out reached its soft limit between requests: c->paused_rest
			     * bytes were left unparsed; pass them again later */
};

/*
 * Run every request in buf[0..len) (pipelined, possibly ending mid-request)
 * at unix time `now`, appending replies to `out`. If `out` fills up, the
 * connection is closed (PROCESS_CLOSE) after what fits: size `out` for the
 * largest reply (item_size_max plus headers).
 */
enum process_status process_input(struct process_worker *w, struct process_conn *c, const char *buf,
				  size_t len, uint32_t now, struct proto_out *out);

/*
 * Streaming (out->limit set, e.g. a segmented reply in packet buffers): no
 * request starts once out reached its limit: process_input returns
 * PROCESS_YIELD with c->paused_rest bytes of the input not parsed (the rest
 * was consumed; the parser's state carries over, so the transport passes
 * those bytes again when the reply has gone). A multiget stops between two
 * keys once out reached its limit and process_input returns PROCESS_PAUSED,
 * having parsed the input up to the end of that request (c->paused_rest
 * bytes after it are left for later).
 * Send what `out` holds; when there is room again call process_resume(),
 * which goes on from the next key (PROCESS_PAUSED again, or PROCESS_OK once
 * END is written, or PROCESS_CLOSE). Until then the input passed in must stay
 * in place and unchanged, and no other input may be given: the request's
 * keys point into it (or into the parser's line buffer).
 */
enum process_status process_resume(struct process_worker *w, struct process_conn *c, uint32_t now,
				   struct proto_out *out);

#endif
