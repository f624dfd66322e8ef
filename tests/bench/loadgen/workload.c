/*
 * The workload every transport shares: keys, values, the popularity draw,
 * request text, reply checks, UDP request tracking and the figures printed.
 */
#include "loadgen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *x)
{
	return (double)(splitmix(x) >> 11) / (double)(UINT64_C(1) << 53);
}

/*
 * Zipf(theta) ranks by Gray et al.'s method ("Quickly generating
 * billion-record synthetic databases", as YCSB draws them): one O(N) sum,
 * then O(1) per draw. Ranks map to keys through a shuffle so the hot keys
 * are spread over the key space (and the store's hash buckets).
 */
static void draw_zipf(uint32_t *seq, size_t len, uint32_t n, double theta, uint64_t *rng)
{
	double zetan = 0, zeta2 = 1 + pow(0.5, theta), alpha = 1 / (1 - theta), eta;
	uint32_t *perm = malloc((size_t)n * sizeof(*perm));

	for (uint32_t i = 1; i <= n; i++)
		zetan += 1 / pow(i, theta);
	eta = (1 - pow(2.0 / n, 1 - theta)) / (1 - zeta2 / zetan);
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(splitmix(rng) % (i + 1)), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < len; i++) {
		double u = uniform01(rng), uz = u * zetan;
		uint64_t rank;

		if (uz < 1)
			rank = 0;
		else if (uz < zeta2)
			rank = 1;
		else
			rank = (uint64_t)(n * pow(eta * u - eta + 1, alpha));
		seq[i] = perm[rank < n ? rank : n - 1];
	}
	free(perm);
}

/* A value is letters that depend on its key, so a swapped reply shows. */
static void fill_value(char *v, unsigned int len, uint32_t k)
{
	for (unsigned int j = 0; j < len; j++)
		v[j] = (char)('a' + (k * 7u + j) % 26);
}

int lg_workload_init(struct lg_workload *w, const struct lg_options *o)
{
	uint64_t rng = o->seed;
	char fmt[32];

	memset(w, 0, sizeof(*w));
	w->keys = o->keys;
	w->key_len = o->key_len;
	w->value_len = o->value_len;
	w->key_text = malloc((size_t)o->keys * o->key_len + 32);
	w->value_text = malloc((size_t)o->keys * o->value_len + 1);
	w->seq = malloc(LG_SEQ_LEN * sizeof(*w->seq));
	w->op_seq = malloc(LG_SEQ_LEN);
	if (w->key_text == NULL || w->value_text == NULL || w->seq == NULL || w->op_seq == NULL) {
		lg_workload_free(w);
		return -1;
	}
	/* "lg:" then the index, zero-padded to the key length. */
	snprintf(fmt, sizeof(fmt), "lg:%%0%uu", o->key_len - 3);
	for (uint32_t k = 0; k < o->keys; k++) {
		char *key = w->key_text + (size_t)k * o->key_len;

		snprintf(key, o->key_len + 1, fmt, k);
		fill_value(w->value_text + (size_t)k * o->value_len, o->value_len, k);
	}
	if (o->zipf > 0) {
		draw_zipf(w->seq, LG_SEQ_LEN, o->keys, o->zipf, &rng);
	} else {
		for (size_t i = 0; i < LG_SEQ_LEN; i++)
			w->seq[i] = (uint32_t)(splitmix(&rng) % o->keys);
	}
	for (size_t i = 0; i < LG_SEQ_LEN; i++)
		w->op_seq[i] = uniform01(&rng) < o->set_ratio ? LG_SET : LG_GET;
	w->vlen_line_len =
	    (size_t)snprintf(w->vlen_line, sizeof(w->vlen_line), "%u\r\n", o->value_len);
	/* VALUE <key> 0 <len>\r\n<value>\r\nEND\r\n */
	w->hit_len = 6 + o->key_len + 3 + w->vlen_line_len + o->value_len + 7;
	return 0;
}

void lg_workload_free(struct lg_workload *w)
{
	free(w->key_text);
	free(w->value_text);
	free(w->seq);
	free(w->op_seq);
	memset(w, 0, sizeof(*w));
}

static char *put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

size_t lg_request(const struct lg_workload *w, enum lg_op op, uint32_t k, char *buf)
{
	char *p = buf;

	if (op == LG_GET) {
		p = put(p, "get ", 4);
		p = put(p, lg_key(w, k), w->key_len);
		return (size_t)(put(p, "\r\n", 2) - buf);
	}
	p = put(p, "set ", 4);
	p = put(p, lg_key(w, k), w->key_len);
	p = put(p, " 0 0 ", 5);
	p = put(p, w->vlen_line, w->vlen_line_len);
	p = put(p, w->value_text + (size_t)k * w->value_len, w->value_len);
	return (size_t)(put(p, "\r\n", 2) - buf);
}

static bool starts(const char *p, size_t len, const char *lit, size_t litlen)
{
	return len >= litlen && memcmp(p, lit, litlen) == 0;
}

enum lg_result lg_reply_check(const struct lg_workload *w, enum lg_op op, uint32_t k, const char *p,
			      size_t len)
{
	if (op == LG_SET)
		return len == 8 && memcmp(p, "STORED\r\n", 8) == 0 ? LG_STORED : LG_BAD;
	if (len == 5 && memcmp(p, "END\r\n", 5) == 0)
		return LG_MISS;
	if (len != w->hit_len || !starts(p, len, "VALUE ", 6))
		return LG_BAD;
	p += 6;
	if (memcmp(p, lg_key(w, k), w->key_len) != 0)
		return LG_BAD;
	p += w->key_len;
	if (memcmp(p, " 0 ", 3) != 0)
		return LG_BAD;
	p += 3;
	if (memcmp(p, w->vlen_line, w->vlen_line_len) != 0)
		return LG_BAD;
	p += w->vlen_line_len;
	if (memcmp(p, w->value_text + (size_t)k * w->value_len, w->value_len) != 0)
		return LG_BAD;
	p += w->value_len;
	return memcmp(p, "\r\nEND\r\n", 7) == 0 ? LG_HIT : LG_BAD;
}

size_t lg_reply_len(const struct lg_workload *w, enum lg_op op, const char *p, size_t avail)
{
	const char *nl;

	if (op == LG_GET && starts(p, avail, "VALUE ", 6))
		return avail >= w->hit_len ? w->hit_len : 0;
	if (avail < 6 && memcmp(p, "VALUE ", avail) == 0)
		return 0; /* too short to tell */
	/* Anything else is one line: END, STORED, or an error the check rejects. */
	nl = memchr(p, '\n', avail);
	return nl != NULL ? (size_t)(nl - p) + 1 : 0;
}

int lg_stats_init(struct lg_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->hist = calloc(LG_HIST_BUCKETS, sizeof(*s->hist));
	return s->hist != NULL ? 0 : -1;
}

void lg_stats_free(struct lg_stats *s)
{
	free(s->hist);
	s->hist = NULL;
}

void lg_stats_reset(struct lg_stats *s)
{
	uint64_t *hist = s->hist;

	memset(s, 0, sizeof(*s));
	s->hist = hist;
	memset(hist, 0, LG_HIST_BUCKETS * sizeof(*hist));
}

void lg_stats_reply(struct lg_stats *s, enum lg_op op, enum lg_result r, uint64_t ns)
{
	uint64_t b = ns / LG_HIST_NS;

	s->replies++;
	s->gets += op == LG_GET;
	s->sets += op == LG_SET;
	switch (r) {
	case LG_HIT:
		s->hits++;
		break;
	case LG_MISS:
		s->misses++;
		break;
	case LG_STORED:
		s->stored++;
		break;
	case LG_BAD:
		s->bad++;
		break;
	}
	s->hist[b < LG_HIST_BUCKETS - 1 ? b : LG_HIST_BUCKETS - 1]++;
	s->hist_n++;
}

static double percentile_us(const struct lg_stats *s, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)s->hist_n), seen = 0;

	if (s->hist_n == 0)
		return 0;
	for (size_t b = 0; b < LG_HIST_BUCKETS; b++) {
		seen += s->hist[b];
		if (seen >= want && seen > 0)
			return (b + 0.5) * LG_HIST_NS / 1000.0;
	}
	return 0;
}

int lg_report(const struct lg_options *o, const struct lg_stats *s, double seconds)
{
	uint64_t gets = s->hits + s->misses;
	int sound = s->replies > 0 && s->bad == 0 && s->tcp_gaps == 0;

	printf("mode %s-%s\n", o->proto == LG_UDP ? "udp" : "tcp",
	       o->transport == LG_MEMIF ? "memif" : "kernel");
	if (o->zipf > 0)
		printf("popularity zipf-%.2f\n", o->zipf);
	else
		printf("popularity uniform\n");
	printf("keys %u\n", o->keys);
	printf("seconds %.3f\n", seconds);
	printf("requests_sent %lu\n", (unsigned long)s->sent);
	printf("replies %lu\n", (unsigned long)s->replies);
	printf("hits %lu\n", (unsigned long)s->hits);
	printf("misses %lu\n", (unsigned long)s->misses);
	printf("stored %lu\n", (unsigned long)s->stored);
	printf("bad_replies %lu\n", (unsigned long)s->bad);
	printf("lost %lu\n", (unsigned long)s->lost);
	printf("late %lu\n", (unsigned long)s->late);
	printf("stray_frames %lu\n", (unsigned long)s->stray);
	if (o->proto == LG_TCP)
		printf("tcp_gaps %lu\n", (unsigned long)s->tcp_gaps);
	printf("hit_ratio %.4f\n", gets > 0 ? (double)s->hits / (double)gets : 0);
	printf("latency_p50_us %.1f\n", percentile_us(s, 0.50));
	printf("latency_p99_us %.1f\n", percentile_us(s, 0.99));
	printf("gets_per_sec %.0f\n", seconds > 0 ? (double)s->gets / seconds : 0);
	printf("sets_per_sec %.0f\n", seconds > 0 ? (double)s->sets / seconds : 0);
	printf("ops_per_sec %.0f\n", seconds > 0 ? (double)s->replies / seconds : 0);
	if (!sound)
		fprintf(stderr, "dpcache-loadgen: %s\n",
			s->replies == 0 ? "no replies"
			: s->bad > 0	? "bad replies"
					: "TCP stream gap (memif should be lossless)");
	return sound ? 0 : -1;
}

struct lg_window *lg_window_new(unsigned int limit, uint64_t timeout, double ns_per_tick)
{
	struct lg_window *win = calloc(1, sizeof(*win));

	if (win == NULL)
		return NULL;
	win->limit = limit;
	win->timeout = timeout;
	win->ns_per_tick = ns_per_tick;
	return win;
}

unsigned int lg_window_room(const struct lg_window *win)
{
	unsigned int by_window = win->limit - win->outstanding;
	unsigned int by_ids = 65535u - (win->next - win->oldest);

	return by_window < by_ids ? by_window : by_ids;
}

void lg_window_sent(struct lg_window *win, uint32_t key, enum lg_op op, uint64_t t)
{
	struct lg_slot *sl = &win->slot[win->next & 0xffff];

	sl->t = t;
	sl->key = key;
	sl->op = (uint8_t)op;
	sl->state = LG_SLOT_WAITING;
	win->next++;
	win->outstanding++;
}

void lg_window_reply(struct lg_window *win, const struct lg_workload *w, struct lg_stats *s,
		     uint16_t id, const char *p, size_t len, uint64_t t)
{
	struct lg_slot *sl = &win->slot[id];
	uint32_t seq = win->oldest + (uint16_t)(id - (uint16_t)win->oldest);

	if (seq - win->oldest >= win->next - win->oldest || sl->state != LG_SLOT_WAITING) {
		/* Answered after we gave up on it, or an id we never sent. */
		if (sl->state == LG_SLOT_LOST)
			s->late++;
		else
			s->bad++;
		return;
	}
	sl->state = LG_SLOT_DONE;
	win->outstanding--;
	lg_stats_reply(s, sl->op, lg_reply_check(w, sl->op, sl->key, p, len),
		       (uint64_t)((double)(t - sl->t) * win->ns_per_tick));
}

void lg_window_expire(struct lg_window *win, struct lg_stats *s, uint64_t now)
{
	while (win->oldest != win->next) {
		struct lg_slot *sl = &win->slot[win->oldest & 0xffff];

		if (sl->state == LG_SLOT_WAITING) {
			if (now - sl->t < win->timeout)
				break;
			sl->state = LG_SLOT_LOST;
			win->outstanding--;
			s->lost++;
		}
		win->oldest++;
	}
}

int lg_stream_init(struct lg_stream *st, unsigned int window, double ns_per_tick)
{
	st->fifo = calloc(window, sizeof(*st->fifo));
	st->cap = window;
	st->head = st->tail = 0;
	st->rlen = 0;
	st->ns_per_tick = ns_per_tick;
	return st->fifo != NULL ? 0 : -1;
}

void lg_stream_free(struct lg_stream *st)
{
	free(st->fifo);
	st->fifo = NULL;
}

int lg_stream_input(struct lg_stream *st, const struct lg_workload *w, struct lg_stats *s,
		    const char *p, size_t len, uint64_t now)
{
	size_t off = 0;

	if (len > sizeof(st->rbuf) - st->rlen)
		return -1;
	memcpy(st->rbuf + st->rlen, p, len);
	st->rlen += len;
	while (off < st->rlen) {
		struct lg_pending *pd;
		size_t n;

		if (lg_stream_pending(st) == 0)
			return -1; /* a reply nobody asked for */
		pd = &st->fifo[st->head % st->cap];
		n = lg_reply_len(w, pd->op, st->rbuf + off, st->rlen - off);
		if (n == 0)
			break;
		lg_stats_reply(s, pd->op, lg_reply_check(w, pd->op, pd->key, st->rbuf + off, n),
			       (uint64_t)((double)(now - pd->t) * st->ns_per_tick));
		st->head++;
		off += n;
	}
	if (off == 0 && st->rlen == sizeof(st->rbuf))
		return -1; /* a full buffer without one reply in it */
	memmove(st->rbuf, st->rbuf + off, st->rlen - off);
	st->rlen -= off;
	return 0;
}

size_t lg_stream_output(struct lg_stream *st, struct lg_cursor *c, struct lg_stats *s, char *buf,
			size_t cap, uint64_t now)
{
	size_t len = 0;

	while (lg_stream_pending(st) < st->cap && cap - len >= LG_REQ_MAX) {
		struct lg_pending *pd = &st->fifo[st->tail % st->cap];
		enum lg_op op;
		uint32_t key;

		if (!lg_next(c, &key, &op))
			break;
		len += lg_request(c->w, op, key, buf + len);
		pd->t = now;
		pd->key = key;
		pd->op = (uint8_t)op;
		st->tail++;
		s->sent++;
	}
	return len;
}
