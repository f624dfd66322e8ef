/*
 * dpcache-loadgen: memcache load over UDP or TCP, either from a DPDK port
 * (net_memif to dpcached) or from kernel sockets (to stock memcached), with
 * the same key set, popularity and reply checks on both sides so their
 * figures compare.
 *
 * The workload is data: N keys of a fixed length, each with a value derived
 * from its index, the exact reply a hit must produce, and a precomputed
 * sequence of key indices drawn from the chosen popularity. The transports
 * (lg_memif.c, lg_tcp.c, lg_kernel.c) only move bytes and call lg_reply_check.
 */
#ifndef DPCACHE_LOADGEN_H
#define DPCACHE_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_KEY_LEN_MAX	  250
#define LG_VALUE_LEN_MAX  1024
#define LG_REQ_MAX	  (LG_KEY_LEN_MAX + LG_VALUE_LEN_MAX + 64)
#define LG_SEQ_LEN	  (1u << 20) /* key draws, cycled */
#define LG_CONNS_MAX	  256
#define LG_UDP_WINDOW_MAX 32768

enum lg_proto { LG_UDP, LG_TCP };
enum lg_transport { LG_MEMIF, LG_KERNEL };
enum lg_op { LG_GET, LG_SET };

/* What a reply turned out to be. */
enum lg_result { LG_HIT, LG_MISS, LG_STORED, LG_BAD };

struct lg_options {
	enum lg_proto proto;
	enum lg_transport transport;
	uint32_t keys;
	unsigned int key_len;
	unsigned int value_len;
	double zipf;	     /* 0: uniform */
	double set_ratio;    /* share of sets in the timed run (TCP; 0..1) */
	unsigned int window; /* UDP: requests outstanding; TCP: per connection */
	unsigned int conns;  /* TCP connections */
	double duration;     /* seconds measured */
	double warmup;	     /* seconds run before measuring */
	double timeout_ms;   /* a UDP request unanswered this long is lost */
	bool preload;	     /* set every key first */
	double linger;	     /* memif: seconds to wait for the server to close first */
	uint64_t seed;
	/* addresses: network order */
	uint32_t local_ip;
	uint32_t server_ip;
	uint16_t server_port;
	uint8_t server_mac[6];
	bool server_mac_set;
	uint16_t port_id;
	uint16_t src_port; /* first local port (UDP; TCP counts up from it) */
	int eal_argc;	   /* memif: the EAL's arguments (before `--`) */
	char **eal_argv;
};

struct lg_workload {
	uint32_t keys;
	unsigned int key_len, value_len;
	char *key_text;	    /* keys * key_len bytes */
	char *value_text;   /* keys * value_len bytes */
	uint32_t *seq;	    /* LG_SEQ_LEN key indices */
	uint8_t *op_seq;    /* LG_SEQ_LEN ops (LG_GET/LG_SET) */
	size_t hit_len;	    /* length of a hit's reply */
	char vlen_line[16]; /* "<value length>\r\n", as a hit's header ends */
	size_t vlen_line_len;
};

/* Latency histogram: 100 ns buckets up to 100 ms, then one overflow bucket. */
#define LG_HIST_NS	100
#define LG_HIST_BUCKETS 1000001

struct lg_stats {
	uint64_t sent, replies, hits, misses, stored, bad, lost, late;
	uint64_t gets, sets;
	uint64_t tcp_gaps; /* TCP: out-of-order or missing bytes (fatal) */
	uint64_t stray;	   /* frames for no request or connection of this run */
	uint64_t *hist;	   /* LG_HIST_BUCKETS */
	uint64_t hist_n;
};

int lg_workload_init(struct lg_workload *w, const struct lg_options *o);
void lg_workload_free(struct lg_workload *w);

static inline const char *lg_key(const struct lg_workload *w, uint32_t k)
{
	return w->key_text + (size_t)k * w->key_len;
}

/*
 * Prefetch what a request on key k and the check of its reply read: the key's
 * text and the value's. With 100,000 keys these are misses in the generator's
 * own caches; a burst prefetches them all before building its requests.
 */
static inline void lg_prefetch(const struct lg_workload *w, uint32_t k)
{
	const char *v = w->value_text + (size_t)k * w->value_len;

	__builtin_prefetch(lg_key(w, k));
	for (size_t off = 0; off < w->value_len && off < 256; off += 64)
		__builtin_prefetch(v + off);
}

/* Request text for op on key k into buf (at least LG_REQ_MAX); returns its length. */
size_t lg_request(const struct lg_workload *w, enum lg_op op, uint32_t k, char *buf);

/*
 * What a complete reply to op on key k is. For TCP, lg_reply_len first says
 * how many bytes the reply takes once `avail` bytes are there (0: need more).
 */
enum lg_result lg_reply_check(const struct lg_workload *w, enum lg_op op, uint32_t k, const char *p,
			      size_t len);
size_t lg_reply_len(const struct lg_workload *w, enum lg_op op, const char *p, size_t avail);

int lg_stats_init(struct lg_stats *s);
void lg_stats_free(struct lg_stats *s);
void lg_stats_reset(struct lg_stats *s);
/* Count one reply (result and latency in nanoseconds). */
void lg_stats_reply(struct lg_stats *s, enum lg_op op, enum lg_result r, uint64_t ns);
/* Print the figures as `name value` lines; returns 0 if the run is sound. */
int lg_report(const struct lg_options *o, const struct lg_stats *s, double seconds);

/*
 * UDP requests in flight, by frame request id. Ids go out in order, so the
 * oldest unanswered one is found by walking forward from `oldest`; one
 * unanswered for longer than the timeout is counted lost and its slot freed.
 * Times are in the transport's ticks (TSC cycles, or nanoseconds).
 */
enum { LG_SLOT_FREE, LG_SLOT_WAITING, LG_SLOT_DONE, LG_SLOT_LOST };

struct lg_slot {
	uint64_t t;
	uint32_t key;
	uint8_t op;
	uint8_t state;
};

struct lg_window {
	struct lg_slot slot[65536];
	uint32_t next;	 /* next request's sequence number (id = low 16 bits) */
	uint32_t oldest; /* oldest sequence number not yet retired */
	unsigned int outstanding;
	unsigned int limit;
	uint64_t timeout; /* ticks */
	double ns_per_tick;
};

struct lg_window *lg_window_new(unsigned int limit, uint64_t timeout, double ns_per_tick);
/* How many more requests may go out now. */
unsigned int lg_window_room(const struct lg_window *win);
/* Record request `seq` as sent (seq == win->next; advances it). */
void lg_window_sent(struct lg_window *win, uint32_t key, enum lg_op op, uint64_t t);
/* A reply datagram's payload after the frame header, for request id. */
void lg_window_reply(struct lg_window *win, const struct lg_workload *w, struct lg_stats *s,
		     uint16_t id, const char *p, size_t len, uint64_t t);
/* Retire answered slots and those past the timeout. */
void lg_window_expire(struct lg_window *win, struct lg_stats *s, uint64_t now);

/*
 * Which request comes next: the preload walks every key once with sets; a
 * run cycles through the precomputed draws.
 */
struct lg_cursor {
	const struct lg_workload *w;
	bool preload;
	uint32_t i;
};

/* Returns false when the preload has gone through every key. */
static inline bool lg_next(struct lg_cursor *c, uint32_t *key, enum lg_op *op)
{
	if (c->preload) {
		if (c->i >= c->w->keys)
			return false;
		*key = c->i++;
		*op = LG_SET;
		return true;
	}
	*key = c->w->seq[c->i & (LG_SEQ_LEN - 1)];
	*op = (enum lg_op)c->w->op_seq[c->i & (LG_SEQ_LEN - 1)];
	c->i++;
	return true;
}

/*
 * One TCP connection's requests and replies, independent of who moves the
 * bytes: requests go out in order, replies come back in the same order and
 * are matched to the oldest pending request.
 */
#define LG_RBUF (64 * 1024)

struct lg_pending {
	uint64_t t;
	uint32_t key;
	uint8_t op;
};

struct lg_stream {
	struct lg_pending *fifo;
	unsigned int cap, head, tail; /* pending: tail - head */
	size_t rlen;
	double ns_per_tick;
	char rbuf[LG_RBUF];
};

int lg_stream_init(struct lg_stream *st, unsigned int window, double ns_per_tick);
void lg_stream_free(struct lg_stream *st);
static inline unsigned int lg_stream_pending(const struct lg_stream *st)
{
	return st->tail - st->head;
}
/* Received bytes; returns -1 if a reply cannot be framed (garbage). */
int lg_stream_input(struct lg_stream *st, const struct lg_workload *w, struct lg_stats *s,
		    const char *p, size_t len, uint64_t now);
/* Requests appended to buf (room cap) while the window has room; bytes written. */
size_t lg_stream_output(struct lg_stream *st, struct lg_cursor *c, struct lg_stats *s, char *buf,
			size_t cap, uint64_t now);

/* Transports: each runs preload (if asked), warm-up, then the timed run. */
int lg_run_memif(const struct lg_options *o, const struct lg_workload *w, struct lg_stats *s,
		 double *seconds);
/* After the report: the memif port and the EAL closed (see lg_memif.c on linger). */
void lg_memif_close(double linger);
int lg_run_kernel(const struct lg_options *o, const struct lg_workload *w, struct lg_stats *s,
		  double *seconds);

#endif
