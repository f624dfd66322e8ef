/*
 * Requests against the store, replies as memcached 1.6 sends them.
 *
 * Values take one copy each way. In: a value that arrived whole goes from the
 * input into the item (store_set); one that arrives in pieces goes piece by
 * piece into a reserved item (store_reserve / store_pending_write /
 * store_commit), so no connection buffers a whole value. Out: the store's
 * sink copies the value straight into the reply (proto_out_reserve); an
 * optimistic read that has to retry rewinds the reply to where the item began.
 */
#include "process.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static process_stats_conns_fn stats_conns_fn;
static void *stats_conns_ctx;

void process_set_stats_conns(process_stats_conns_fn fn, void *ctx)
{
	stats_conns_fn = fn;
	stats_conns_ctx = ctx;
}

/*
 * memcached's clock counts seconds from two before the server started (its
 * process_started); meta t shows a TTL already past on that clock (ttl_of).
 * Set by the first worker that starts; 0 until then.
 */
static uint32_t process_started;

int process_worker_init(struct process_worker *w, struct store *store, unsigned tid)
{
	uint32_t none = 0;

	__atomic_compare_exchange_n(&process_started, &none, (uint32_t)time(NULL) - 2, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	*w = (struct process_worker){.store = store, .thread = store_thread(store, tid),
				     .version = PROCESS_VERSION};
	return w->thread != NULL ? 0 : -EINVAL;
}

void process_conn_init(struct process_conn *c, const struct proto_config *cfg)
{
	memset(c, 0, sizeof(*c));
	proto_parser_init(&c->parser, cfg, c->line, sizeof(c->line));
}

void process_conn_close(struct process_worker *w, struct process_conn *c)
{
	if (c->pending && c->pending_reserved)
		store_abort(w->thread, &c->sp);
	c->pending = false;
	c->pending_reserved = false;
}

static bool is_meta(enum proto_cmd c)
{
	return c >= PROTO_CMD_MG && c <= PROTO_CMD_ME;
}

/* An error the executor found: text noreply hides it (out_string), meta never. */
static void reply_error(struct proto_out *out, const struct proto_request *req,
			enum proto_error err)
{
	if (!is_meta(req->cmd) && req->noreply)
		return;
	proto_compose_error_code(out, err);
}

static void reply_line(struct proto_out *out, const struct proto_request *req, const char *line)
{
	if (!is_meta(req->cmd) && req->noreply)
		return;
	proto_compose_line(out, line);
}

/*
 * What meta t shows after T or N set a protocol exptime: the remaining
 * seconds, -1 for never. A time already past (T-1, an old unix time) comes
 * out as memcached computes it, in unsigned 32-bit arithmetic on its clock,
 * where every time before the server started is its second 1: a number near
 * 2^32 that depends on how long the server has been up.
 */
static int64_t ttl_of(int64_t exptime, uint32_t now)
{
	uint32_t e = store_exptime(exptime, now);
	uint32_t base = __atomic_load_n(&process_started, __ATOMIC_RELAXED);

	if (e == 0)
		return -1;
	if (e > now)
		return (int64_t)e - (int64_t)now;
	if (base == 0 || base > now)
		base = now - 2; /* no worker started (tests): as if just now */
	return (uint32_t)((e > base ? e - base : 1) - (now - base));
}

/*
 * memcached applies T and N in flag order, so on an item N creates the TTL of
 * whichever comes later stays (mg/ma N30 T50: 50; T50 N30: 30).
 */
static int32_t created_ttl(const struct proto_meta *m)
{
	char last = 0;

	for (unsigned i = 0; i < m->norder; i++)
		if (m->order[i] == 'T' || m->order[i] == 'N')
			last = m->order[i];
	return last == 'T' ? m->ttl : m->vivify_ttl;
}

/* Whether flag `a` comes before flag `b` in the request (both given). */
static bool flag_before(const struct proto_meta *m, char a, char b)
{
	for (unsigned i = 0; i < m->norder; i++) {
		if (m->order[i] == a)
			return PROTO_META_HAS(m, b);
		if (m->order[i] == b)
			return false;
	}
	return false;
}

/* ---- reads: the sink writes the value into the reply ---- */

struct reply_sink {
	struct proto_out *out;
	struct proto_out_mark mark;
	const struct proto_request *req;
	struct proto_span key;
	uint32_t now;
	char *dst;
};

static int sink_reserve(struct reply_sink *rs, uint32_t len)
{
	rs->dst = NULL;
	if (len == 0 || rs->out->segs != NULL) /* segments: sink_copy spills over them */
		return rs->out->error;
	rs->dst = proto_out_reserve(rs->out, len);
	return rs->dst == NULL ? -1 : 0;
}

static int text_begin(void *ctx, const struct store_item_info *info)
{
	struct reply_sink *rs = ctx;
	bool cas = rs->req->cmd == PROTO_CMD_GETS || rs->req->cmd == PROTO_CMD_GATS;

	proto_out_rewind(rs->out, &rs->mark);
	proto_compose_value_line(rs->out, rs->key, info->flags, info->value_len, cas, info->cas);
	return sink_reserve(rs, info->value_len);
}

static int sink_copy(void *ctx, uint32_t off, const void *src, uint32_t len)
{
	struct reply_sink *rs = ctx;

	if (rs->dst == NULL) /* a segmented reply; the store copies in order after begin() */
		return proto_out_copy(rs->out, src, len) == 0 ? 0 : -1;
	memcpy(rs->dst + off, src, len);
	return 0;
}

static void meta_item_from(const struct proto_request *req, const struct store_item_info *info,
			   uint32_t now, struct proto_meta_item *mi)
{
	const struct proto_meta *m = &req->meta;

	memset(mi, 0, sizeof(*mi));
	mi->key = req->key;
	/* mg shows the key as it was stored (ms b); ma as this request spells it */
	mi->key_binary = req->cmd == PROTO_CMD_MG ? info->key_binary : m->key_binary;
	mi->value_len = info->value_len;
	mi->client_flags = info->flags;
	mi->cas = info->cas;
	mi->ttl = info->created ? -1 : info->ttl;
	mi->ttl_new = mi->ttl;
	/*
	 * t shows the TTL as it stood at its place in the flags: set by the last
	 * T (or N, on an item N created) before it, if any (T50 t N30: 50).
	 */
	mi->ttl_changed = PROTO_META_HAS(m, 'T');
	for (unsigned i = 0; i < m->norder && m->order[i] != 't'; i++) {
		if (m->order[i] == 'T')
			mi->ttl_new = ttl_of(m->ttl, now);
		else if (m->order[i] == 'N' && info->created)
			mi->ttl_new = ttl_of(m->vivify_ttl, now);
	}
	mi->last_access = info->last_access;
	mi->fetched = info->fetched;
	mi->win = info->win;
	mi->stale = info->stale;
	mi->win_sent = info->win_sent;
	mi->created = info->created;
}

static int meta_begin(void *ctx, const struct store_item_info *info)
{
	struct reply_sink *rs = ctx;
	struct proto_meta_item mi;

	proto_out_rewind(rs->out, &rs->mark);
	meta_item_from(rs->req, info, rs->now, &mi);
	if (proto_compose_meta_line(rs->out, rs->req, PROTO_META_VA, &mi) != 0)
		return -1;
	return sink_reserve(rs, info->value_len);
}

/*
 * A multiget stops between keys once `out` reached its soft limit (a
 * transport that streams the reply), after at least one key, and remembers
 * where: process_resume() goes on from there.
 */
static void do_get(struct process_worker *w, struct process_conn *c,
		   const struct proto_request *req, const uint64_t *first_hash, uint32_t now,
		   struct proto_out *out)
{
	bool touch = req->cmd == PROTO_CMD_GAT || req->cmd == PROTO_CMD_GATS;
	/* gat is no meta read: a stale item gives it no lease win */
	struct store_get_args args = {.touch = touch, .exptime = req->exptime, .no_lease = true};
	struct reply_sink rs = {.out = out, .req = req, .now = now};
	struct store_sink sink = {text_begin, sink_copy, &rs};
	struct store_item_info info;
	uint32_t pos = c->paused ? c->get_pos : 0;
	bool first = true;

	c->paused = false;
	for (;;) {
		uint32_t at = pos;
		enum store_result r;

		if (!proto_key_next(req, &pos, &rs.key))
			break;
		if (!first && proto_out_paused(out)) {
			c->paused = true;
			c->get_pos = at;
			return;
		}
		first = false;
		proto_out_mark(out, &rs.mark);
		if (touch)
			r = store_mget(w->thread, rs.key.p, rs.key.len, now, &args, &sink, &info);
		else if (first_hash != NULL && at == 0)
			r = store_get_hashed(w->thread, *first_hash, rs.key.p, rs.key.len, now,
					     &sink, &info);
		else
			r = store_get(w->thread, rs.key.p, rs.key.len, now, &sink, &info);
		if (r == STORE_OK)
			proto_compose_line(out, "");
		else if (out->error == 0)
			proto_out_rewind(out, &rs.mark);
	}
	proto_compose_reply(out, NULL, PROTO_R_END);
}

static void do_mg(struct process_worker *w, const struct proto_request *req, uint32_t now,
		  struct proto_out *out)
{
	const struct proto_meta *m = &req->meta;
	struct store_get_args args = {
	    .touch = PROTO_META_HAS(m, 'T'),
	    .exptime = m->ttl,
	    .vivify = PROTO_META_HAS(m, 'N'),
	    .vivify_exptime = created_ttl(m),
	    .recache = PROTO_META_HAS(m, 'R'),
	    .recache_ttl = m->recache_ttl > 0 ? (uint32_t)m->recache_ttl : 0,
	    .recache_after_touch = flag_before(m, 'T', 'R'),
	    .no_bump = PROTO_META_HAS(m, 'u'),
	};
	struct reply_sink rs = {.out = out, .req = req, .key = req->key, .now = now};
	struct store_sink sink = {meta_begin, sink_copy, &rs};
	bool value = PROTO_META_HAS(m, 'v');
	struct store_item_info info;
	struct proto_meta_item mi;
	enum store_result r;

	proto_out_mark(out, &rs.mark);
	r = store_mget(w->thread, req->key.p, req->key.len, now, &args, value ? &sink : NULL,
		       &info);
	if (r != STORE_OK) {
		if (out->error == 0)
			proto_out_rewind(out, &rs.mark);
		proto_compose_meta(out, req, PROTO_META_EN, NULL);
		return;
	}
	if (value) {
		proto_compose_line(out, "");
		return;
	}
	meta_item_from(req, &info, now, &mi);
	proto_compose_meta(out, req, PROTO_META_HD, &mi);
}

static void do_me(struct process_worker *w, const struct proto_request *req, uint32_t now,
		  struct proto_out *out)
{
	/* memcached's me reads the item as it is: no bump, no lease */
	struct store_get_args args = {.no_bump = true, .no_lease = true};
	struct store_item_info info;
	struct proto_me_info me;

	if (store_mget(w->thread, req->key.p, req->key.len, now, &args, NULL, &info) != STORE_OK) {
		proto_compose_reply(out, NULL, PROTO_R_EN);
		return;
	}
	memset(&me, 0, sizeof(me));
	me.key = req->key;
	me.key_binary = info.key_binary;
	me.exp = info.ttl < 0 ? -1 : -info.ttl; /* memcached prints now - exptime */
	me.la = info.last_access;
	me.cas = info.cas;
	me.fetched = info.fetched;
	me.cls = 1;
	me.size = 48 + 8 + req->key.len + 1 + info.value_len + 2;
	proto_compose_me(out, &me);
}

/* ---- writes ---- */

static enum store_op store_op_of(const struct proto_request *req)
{
	switch (req->cmd) {
	case PROTO_CMD_ADD:
		return STORE_OP_ADD;
	case PROTO_CMD_REPLACE:
		return STORE_OP_REPLACE;
	case PROTO_CMD_APPEND:
		return STORE_OP_APPEND;
	case PROTO_CMD_PREPEND:
		return STORE_OP_PREPEND;
	case PROTO_CMD_CAS:
		return STORE_OP_CAS;
	case PROTO_CMD_MS:
		break;
	default:
		return STORE_OP_SET;
	}
	switch (req->meta.mode) {
	case 'E':
		return STORE_OP_ADD;
	case 'A':
		return STORE_OP_APPEND;
	case 'P':
		return STORE_OP_PREPEND;
	case 'R':
		return PROTO_META_HAS(&req->meta, 'C') ? STORE_OP_CAS : STORE_OP_REPLACE;
	default:
		return PROTO_META_HAS(&req->meta, 'C') ? STORE_OP_CAS : STORE_OP_SET;
	}
}

static void set_args_of(const struct proto_request *req, struct store_set_args *a)
{
	memset(a, 0, sizeof(*a));
	a->op = store_op_of(req);
	a->flags = req->client_flags;
	a->exptime = req->exptime;
	a->cas = req->cas;
	a->set_stale =
	    req->cmd == PROTO_CMD_MS && PROTO_META_HAS(&req->meta, 'I') && a->op == STORE_OP_CAS;
	a->key_binary = req->cmd == PROTO_CMD_MS && req->meta.key_binary;
}

/* memcached unlinks the old item when a set cannot store the new one. */
static void unlink_on_failed_set(struct process_worker *w, const struct proto_request *req,
				 struct proto_span key, uint32_t now)
{
	if (req->cmd == PROTO_CMD_SET || req->cmd == PROTO_CMD_MS)
		store_delete(w->thread, key.p, key.len, now, NULL);
}

static void store_reply(struct process_worker *w, const struct proto_request *req,
			struct proto_span key, enum store_result r, uint64_t cas, uint32_t now,
			struct proto_out *out)
{
	static const enum proto_reply text[] = {
	    [STORE_STORED] = PROTO_R_STORED,
	    [STORE_NOT_STORED] = PROTO_R_NOT_STORED,
	    [STORE_EXISTS] = PROTO_R_EXISTS,
	    [STORE_NOT_FOUND] = PROTO_R_NOT_FOUND,
	};
	static const enum proto_meta_code meta[] = {
	    [STORE_STORED] = PROTO_META_HD,
	    [STORE_NOT_STORED] = PROTO_META_NS,
	    [STORE_EXISTS] = PROTO_META_EX,
	    [STORE_NOT_FOUND] = PROTO_META_NF,
	};
	struct proto_meta_item mi;

	switch (r) {
	case STORE_STORED:
	case STORE_NOT_STORED:
	case STORE_EXISTS:
	case STORE_NOT_FOUND:
		break;
	case STORE_TOO_LARGE:
		unlink_on_failed_set(w, req, key, now);
		reply_error(out, req, PROTO_ERR_TOO_LARGE);
		return;
	default:
		unlink_on_failed_set(w, req, key, now);
		reply_error(out, req, PROTO_ERR_OUT_OF_MEMORY);
		return;
	}
	if (req->cmd != PROTO_CMD_MS) {
		proto_compose_reply(out, req, text[r]);
		return;
	}
	memset(&mi, 0, sizeof(mi));
	mi.key = key;
	mi.key_binary = req->meta.key_binary;
	mi.cas = r == STORE_STORED ? cas : 0;
	proto_compose_meta(out, req, meta[r], &mi);
}

/* A storage request with its whole value; `hash` is its key's store_hash() or NULL. */
static void do_store(struct process_worker *w, const struct proto_request *req,
		     const uint64_t *hash, uint32_t now, struct proto_out *out)
{
	struct store_set_args args;
	uint64_t cas = 0;
	enum store_result r;

	set_args_of(req, &args);
	if (hash != NULL)
		r = store_set_hashed(w->thread, *hash, req->key.p, req->key.len, req->value.p,
				     req->value_len, now, &args, &cas);
	else
		r = store_set(w->thread, req->key.p, req->key.len, req->value.p, req->value_len,
			      now, &args, &cas);
	store_reply(w, req, req->key, r, cas, now, out);
}

/* The first piece of a value that arrives in pieces. */
static void store_begin(struct process_worker *w, struct process_conn *c,
			const struct proto_request *req, uint32_t now, struct proto_out *out)
{
	enum store_result r;

	c->pending = true;
	c->pending_off = 0;
	c->preq = *req;
	memcpy(c->pkey, req->key.p, req->key.len);
	c->pkey_len = req->key.len;
	r = store_reserve(w->thread, req->key.p, req->key.len, req->value_len, now, &c->sp);
	c->pending_reserved = r == STORE_OK;
	if (!c->pending_reserved) {
		struct proto_span key = {c->pkey, c->pkey_len};

		c->pending = false;
		proto_parser_discard_value(&c->parser);
		store_reply(w, req, key, r == STORE_TOO_LARGE ? r : STORE_NO_MEMORY, 0, now, out);
		return;
	}
	store_pending_write(&c->sp, 0, req->value.p, req->value.len);
	c->pending_off = req->value.len;
}

static void store_end(struct process_worker *w, struct process_conn *c, uint32_t now,
		      struct proto_out *out)
{
	struct proto_span key = {c->pkey, c->pkey_len};
	struct store_set_args args;
	uint64_t cas = 0;
	enum store_result r;

	c->preq.key = key;
	c->pending = false;
	c->pending_reserved = false;
	set_args_of(&c->preq, &args);
	r = store_commit(w->thread, &c->sp, now, &args, &cas);
	store_reply(w, &c->preq, key, r, cas, now, out);
}

/* ---- the rest ---- */

static void do_arith(struct process_worker *w, const struct proto_request *req, uint32_t now,
		     struct proto_out *out)
{
	struct store_arith_args a = {.incr = req->cmd == PROTO_CMD_INCR, .delta = req->delta};
	uint64_t v = 0;
	enum store_result r = store_arith(w->thread, req->key.p, req->key.len, now, &a, &v, NULL);

	switch (r) {
	case STORE_OK:
		proto_compose_number(out, req, v);
		break;
	case STORE_NOT_FOUND:
		proto_compose_reply(out, req, PROTO_R_NOT_FOUND);
		break;
	case STORE_NON_NUMERIC:
		reply_error(out, req, PROTO_ERR_NON_NUMERIC);
		break;
	default:
		reply_line(out, req, "SERVER_ERROR out of memory");
		break;
	}
}

static void do_ma(struct process_worker *w, const struct proto_request *req, uint32_t now,
		  struct proto_out *out)
{
	const struct proto_meta *m = &req->meta;
	struct store_arith_args a = {
	    .incr = m->mode != 'D' && m->mode != '-',
	    .delta = m->delta,
	    .cas = m->cas,
	    .vivify = PROTO_META_HAS(m, 'N'),
	    .initial = m->initial,
	    .vivify_exptime = created_ttl(m),
	    .touch = PROTO_META_HAS(m, 'T'),
	    .exptime = m->ttl,
	};
	struct store_item_info info;
	struct proto_meta_item mi;
	char digits[24];
	uint64_t v = 0;
	enum store_result r;

	memset(&info, 0, sizeof(info));
	r = store_arith(w->thread, req->key.p, req->key.len, now, &a, &v, &info);
	switch (r) {
	case STORE_OK:
		meta_item_from(req, &info, now, &mi);
		mi.value_len =
		    (uint32_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
		/* the number lives on this stack: copy it, do not reference it */
		if (proto_compose_meta_line(out, req,
					    PROTO_META_HAS(m, 'v') ? PROTO_META_VA : PROTO_META_HD,
					    &mi) == 0 &&
		    PROTO_META_HAS(m, 'v')) {
			proto_out_copy(out, digits, mi.value_len);
			proto_compose_line(out, "");
		}
		break;
	case STORE_NOT_FOUND:
		proto_compose_meta(out, req, PROTO_META_NF, NULL);
		break;
	case STORE_EXISTS:
		proto_compose_meta(out, req, PROTO_META_EX, NULL);
		break;
	case STORE_NON_NUMERIC:
		proto_compose_error_code(out, PROTO_ERR_NON_NUMERIC);
		break;
	default:
		proto_compose_line(out, "SERVER_ERROR out of memory");
		break;
	}
}

static void do_md(struct process_worker *w, const struct proto_request *req, uint32_t now,
		  struct proto_out *out)
{
	const struct proto_meta *m = &req->meta;
	struct store_delete_args a = {
	    .cas = m->cas,
	    .has_cas = PROTO_META_HAS(m, 'C'),
	    .invalidate = PROTO_META_HAS(m, 'I'),
	    .set_exptime = PROTO_META_HAS(m, 'I') && PROTO_META_HAS(m, 'T'),
	    .exptime = m->ttl,
	};
	enum store_result r = store_delete(w->thread, req->key.p, req->key.len, now, &a);

	proto_compose_meta(out, req,
			   r == STORE_OK       ? PROTO_META_HD
			   : r == STORE_EXISTS ? PROTO_META_EX
					       : PROTO_META_NF,
			   NULL);
}

static void stat_u64(struct proto_out *out, const char *name, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	proto_compose_stat(out, name, tmp);
}

/* `stats slabs`: memcached's per-class lines for classes that own pages. */
static void stats_slabs(struct process_worker *w, uint32_t now, struct proto_out *out)
{
	struct store_stats st;
	unsigned int active = 0;
	char name[64];

	for (unsigned int cls = 1; cls <= store_classes(w->store); cls++) {
		struct store_class_stats cs;

		store_class_stats(w->store, -1, cls, now, &cs);
		if (cs.total_pages == 0)
			continue;
		active++;
#define SLAB_STAT(field)                                                                           \
	do {                                                                                       \
		snprintf(name, sizeof(name), "%u:%s", cls, #field);                            \
		stat_u64(out, name, cs.field);                                                     \
	} while (0)
		SLAB_STAT(chunk_size);
		SLAB_STAT(chunks_per_page);
		SLAB_STAT(total_pages);
		SLAB_STAT(total_chunks);
		SLAB_STAT(used_chunks);
		SLAB_STAT(free_chunks);
		SLAB_STAT(mem_requested);
		SLAB_STAT(cmd_set);
#undef SLAB_STAT
	}
	store_stats(w->store, -1, &st);
	stat_u64(out, "active_slabs", active);
	stat_u64(out, "total_malloced", st.total_malloced);
	proto_compose_reply(out, NULL, PROTO_R_END);
}

/* `stats items`: memcached's per-class LRU lines for classes holding items. */
static void stats_items(struct process_worker *w, uint32_t now, struct proto_out *out)
{
	char name[64];

	for (unsigned int cls = 1; cls <= store_classes(w->store); cls++) {
		struct store_class_stats cs;

		store_class_stats(w->store, -1, cls, now, &cs);
		if (cs.number == 0)
			continue;
#define ITEM_STAT(field)                                                                           \
	do {                                                                                       \
		snprintf(name, sizeof(name), "items:%u:%s", cls, #field);                      \
		stat_u64(out, name, cs.field);                                                     \
	} while (0)
		ITEM_STAT(number);
		ITEM_STAT(number_hot);
		ITEM_STAT(number_warm);
		ITEM_STAT(number_cold);
		ITEM_STAT(age);
		ITEM_STAT(mem_requested);
		ITEM_STAT(evicted);
		ITEM_STAT(evicted_nonzero);
		ITEM_STAT(evicted_time);
		ITEM_STAT(outofmemory);
		ITEM_STAT(reclaimed);
		ITEM_STAT(expired_unfetched);
		ITEM_STAT(evicted_unfetched);
		ITEM_STAT(moves_to_cold);
		ITEM_STAT(moves_to_warm);
		ITEM_STAT(moves_within_lru);
#undef ITEM_STAT
	}
	proto_compose_reply(out, NULL, PROTO_R_END);
}

/* `stats settings`: the store's configuration and, where known, the server's. */
static void stats_settings(struct process_worker *w, struct proto_out *out)
{
	const struct store_config *cfg = store_config(w->store);
	char tmp[32];

	stat_u64(out, "maxbytes", cfg->limit_bytes);
	if (w->settings != NULL) {
		stat_u64(out, "maxconns", w->settings->max_conns);
		stat_u64(out, "tcpport", w->settings->tcp_port);
		stat_u64(out, "udpport", w->settings->udp_port);
		stat_u64(out, "num_threads", w->settings->threads);
	}
	snprintf(tmp, sizeof(tmp), "%.2f", cfg->growth_factor);
	proto_compose_stat(out, "growth_factor", tmp);
	stat_u64(out, "chunk_size", cfg->chunk_min);
	stat_u64(out, "item_size_max", cfg->item_size_max);
	stat_u64(out, "slab_page_size", cfg->item_size_max);
	proto_compose_stat(out, "evictions", "on");
	proto_compose_stat(out, "cas_enabled", "yes");
	proto_compose_stat(out, "flush_enabled", w->flush_disabled ? "no" : "yes");
	proto_compose_stat(out, "lru_segmented", "yes");
	proto_compose_stat(out, "slab_reassign", cfg->no_rebalance ? "no" : "yes");
	proto_compose_stat(out, "slab_automove", cfg->no_rebalance ? "0" : "1");
	stat_u64(out, "lease_ttl", cfg->lease_ttl);
	stat_u64(out, "transient_ttl_max", cfg->transient_ttl_max);
	stat_u64(out, "partitions", cfg->partitions);
	proto_compose_reply(out, NULL, PROTO_R_END);
}

/* The general stats the store can tell, and the stats subcommands. */
static void do_stats(struct process_worker *w, const struct proto_request *req, uint32_t now,
		     struct proto_out *out)
{
	struct store_stats st;
	uint32_t pos = 0;
	struct proto_span a[2] = {{0}};
	unsigned n = 0;
	struct proto_request it = *req;

	it.keys = req->args;
	while (n < 2 && proto_key_next(&it, &pos, &a[n]))
		n++;
#define ARG_IS(i, s) (a[i].len == strlen(s) && memcmp(a[i].p, s, a[i].len) == 0)
	if (n == 0) {
		store_stats(w->store, -1, &st);
		stat_u64(out, "pid", (uint64_t)getpid());
		stat_u64(out, "time", now);
		proto_compose_stat(out, "version", w->version);
		stat_u64(out, "cmd_set", st.cmd_set);
		stat_u64(out, "cmd_flush", st.cmd_flush);
		stat_u64(out, "cmd_touch", st.cmd_touch);
		stat_u64(out, "get_hits", st.get_hits);
		stat_u64(out, "get_misses", st.get_misses);
		stat_u64(out, "get_expired", st.get_expired);
		stat_u64(out, "get_flushed", st.get_flushed);
		stat_u64(out, "delete_misses", st.delete_misses);
		stat_u64(out, "delete_hits", st.delete_hits);
		stat_u64(out, "incr_misses", st.incr_misses);
		stat_u64(out, "incr_hits", st.incr_hits);
		stat_u64(out, "decr_misses", st.decr_misses);
		stat_u64(out, "decr_hits", st.decr_hits);
		stat_u64(out, "cas_misses", st.cas_misses);
		stat_u64(out, "cas_hits", st.cas_hits);
		stat_u64(out, "cas_badval", st.cas_badval);
		stat_u64(out, "touch_hits", st.touch_hits);
		stat_u64(out, "touch_misses", st.touch_misses);
		stat_u64(out, "limit_maxbytes", st.limit_maxbytes);
		stat_u64(out, "bytes", st.bytes);
		stat_u64(out, "curr_items", st.curr_items);
		stat_u64(out, "total_items", st.total_items);
		stat_u64(out, "evictions", st.evictions);
		stat_u64(out, "reclaimed", st.reclaimed);
		proto_compose_reply(out, NULL, PROTO_R_END);
	} else if (ARG_IS(0, "reset")) {
		proto_compose_reply(out, NULL, PROTO_R_RESET);
	} else if (ARG_IS(0, "detail")) {
		if (n > 1 && (ARG_IS(1, "on") || ARG_IS(1, "off")))
			proto_compose_reply(out, NULL, PROTO_R_OK);
		else if (n > 1 && ARG_IS(1, "dump"))
			proto_compose_reply(out, NULL, PROTO_R_END);
		else
			proto_compose_line(out, "CLIENT_ERROR usage: stats detail on|off|dump");
	} else if (ARG_IS(0, "settings")) {
		stats_settings(w, out);
	} else if (ARG_IS(0, "items")) {
		stats_items(w, now, out);
	} else if (ARG_IS(0, "slabs")) {
		stats_slabs(w, now, out);
	} else if (ARG_IS(0, "conns")) {
		if (stats_conns_fn != NULL)
			stats_conns_fn(stats_conns_ctx, out, now);
		proto_compose_reply(out, NULL, PROTO_R_END);
	} else {
		proto_compose_error_code(out, PROTO_ERR_UNKNOWN_COMMAND);
	}
#undef ARG_IS
}

/*
 * Run one complete request; returns PROCESS_CLOSE for quit. `hash` is the
 * store_hash() of its (first) key when the caller has it, else NULL.
 */
static enum process_status run(struct process_worker *w, struct process_conn *c,
			       const struct proto_request *req, const uint64_t *hash, uint32_t now,
			       struct proto_out *out)
{
	enum store_result r;

	switch (req->cmd) {
	case PROTO_CMD_GET:
	case PROTO_CMD_GETS:
	case PROTO_CMD_GAT:
	case PROTO_CMD_GATS:
		do_get(w, c, req, hash, now, out);
		if (c->paused) {
			c->get_req = *req;
			return PROCESS_PAUSED;
		}
		break;
	case PROTO_CMD_SET:
	case PROTO_CMD_ADD:
	case PROTO_CMD_REPLACE:
	case PROTO_CMD_APPEND:
	case PROTO_CMD_PREPEND:
	case PROTO_CMD_CAS:
	case PROTO_CMD_MS:
		do_store(w, req, hash, now, out);
		break;
	case PROTO_CMD_DELETE:
		r = store_delete(w->thread, req->key.p, req->key.len, now, NULL);
		proto_compose_reply(out, req, r == STORE_OK ? PROTO_R_DELETED : PROTO_R_NOT_FOUND);
		break;
	case PROTO_CMD_INCR:
	case PROTO_CMD_DECR:
		do_arith(w, req, now, out);
		break;
	case PROTO_CMD_TOUCH:
		r = store_touch(w->thread, req->key.p, req->key.len, now, req->exptime);
		proto_compose_reply(out, req, r == STORE_OK ? PROTO_R_TOUCHED : PROTO_R_NOT_FOUND);
		break;
	case PROTO_CMD_FLUSH_ALL:
		if (w->flush_disabled) {
			reply_line(out, req, "CLIENT_ERROR flush_all not allowed");
			break;
		}
		store_flush(w->store, now, req->has_delay && req->exptime > 0 ? req->exptime : 0);
		proto_compose_reply(out, req, PROTO_R_OK);
		break;
	case PROTO_CMD_VERSION:
		proto_compose_version(out, w->version);
		break;
	case PROTO_CMD_VERBOSITY:
		proto_compose_reply(out, req, PROTO_R_OK);
		break;
	case PROTO_CMD_QUIT:
		return PROCESS_CLOSE;
	case PROTO_CMD_STATS:
		do_stats(w, req, now, out);
		break;
	case PROTO_CMD_SHUTDOWN:
		proto_compose_line(out, "ERROR: shutdown not enabled");
		break;
	case PROTO_CMD_MG:
		do_mg(w, req, now, out);
		break;
	case PROTO_CMD_MD:
		do_md(w, req, now, out);
		break;
	case PROTO_CMD_MA:
		do_ma(w, req, now, out);
		break;
	case PROTO_CMD_MN:
		proto_compose_reply(out, NULL, PROTO_R_MN);
		break;
	case PROTO_CMD_ME:
		do_me(w, req, now, out);
		break;
	default:
		proto_compose_error_code(out, PROTO_ERR_UNKNOWN_COMMAND);
		break;
	}
	return PROCESS_OK;
}

static bool has_value(enum proto_cmd c)
{
	return (c >= PROTO_CMD_SET && c <= PROTO_CMD_CAS) || c == PROTO_CMD_MS;
}

#define AHEAD_MAX 16 /* requests parsed ahead of running them */

/*
 * A request that may be parsed ahead and run later from the same input: a
 * text set/add/replace/append/prepend/cas whose line and value are whole in
 * buf, or a get/gets of one key whose line is. Its spans point into buf (not
 * into the parser's buffers, which the next parse may overwrite), it cannot
 * pause or close the connection, and the parser is between lines after it.
 */
static bool runs_ahead(enum proto_event ev, const struct proto_request *r, const char *buf,
		       size_t len)
{
	uintptr_t k = (uintptr_t)r->key.p, b = (uintptr_t)buf;

	if (ev != PROTO_EV_REQUEST || k < b || k >= b + len)
		return false;
	switch (r->cmd) {
	case PROTO_CMD_SET:
	case PROTO_CMD_ADD:
	case PROTO_CMD_REPLACE:
	case PROTO_CMD_APPEND:
	case PROTO_CMD_PREPEND:
	case PROTO_CMD_CAS:
		return !r->value_partial;
	case PROTO_CMD_GET:
	case PROTO_CMD_GETS:
		return r->nkeys == 1;
	default:
		return false;
	}
}

/* Requests parsed ahead: where each started in the input, and its key's hash. */
struct ahead {
	struct proto_request req[AHEAD_MAX];
	size_t start[AHEAD_MAX];
	uint64_t hash[AHEAD_MAX];
};

/*
 * Run one event of the parser (anything but a request parsed ahead). Returns
 * PROCESS_OK to go on, else what process_input returns (PROCESS_OK too when
 * the input is used up: *done).
 */
static enum process_status run_event(struct process_worker *w, struct process_conn *c,
				     enum proto_event ev, struct proto_request *req, uint32_t now,
				     struct proto_out *out, bool *done)
{
	enum process_status st = PROCESS_OK;

	switch (ev) {
	case PROTO_EV_NEED_MORE:
		*done = true;
		return PROCESS_OK;
	case PROTO_EV_CLOSE:
		process_conn_close(w, c);
		return PROCESS_CLOSE;
	case PROTO_EV_REQUEST:
		if (has_value(req->cmd) && req->value_partial) {
			store_begin(w, c, req, now, out);
			break;
		}
		st = run(w, c, req, NULL, now, out);
		if (st == PROCESS_CLOSE) {
			process_conn_close(w, c);
			return PROCESS_CLOSE;
		}
		break;
	case PROTO_EV_VALUE:
		if (c->pending && c->pending_reserved) {
			store_pending_write(&c->sp, c->pending_off, req->value.p, req->value.len);
			c->pending_off += req->value.len;
		}
		break;
	case PROTO_EV_VALUE_END:
		if (c->pending)
			store_end(w, c, now, out);
		break;
	case PROTO_EV_ERROR:
		if (c->pending)
			process_conn_close(w, c);
		if (req->error == PROTO_ERR_TOO_LARGE)
			unlink_on_failed_set(w, req, req->key, now);
		proto_compose_error(out, req);
		break;
	}
	return st;
}

/* The reply could not grow: the connection closes. */
static enum process_status out_failed(struct process_worker *w, struct process_conn *c)
{
	w->conn_errors++;
	process_conn_close(w, c);
	return PROCESS_CLOSE;
}

/*
 * Pipelined requests are parsed ahead (up to AHEAD_MAX, while they are of
 * the kind runs_ahead() allows) and their keys hashed once: the store's
 * buckets for them are prefetched as they are parsed, then the items the
 * buckets point at, and only then do they run, so that running them waits
 * less on memory. The first other event ends the batch and runs after it.
 * A batch cut short by the reply's soft limit leaves the parser between
 * lines at the first request not run: what was parsed after it is parsed
 * again when the transport passes those bytes again.
 */
enum process_status process_input(struct process_worker *w, struct process_conn *c, const char *buf,
				  size_t len, uint32_t now, struct proto_out *out)
{
	struct ahead q;
	size_t off = 0;

	for (;;) {
		enum process_status st = PROCESS_OK;
		enum proto_event ev = PROTO_EV_NEED_MORE;
		bool other = false, done = false;
		unsigned n = 0;

		while (n < AHEAD_MAX) {
			size_t used = 0;

			q.start[n] = off;
			ev = proto_parse(&c->parser, buf + off, len - off, &used, &q.req[n]);
			off += used;
			if (!runs_ahead(ev, &q.req[n], buf, len)) {
				other = true;
				break;
			}
			q.hash[n] = store_hash(q.req[n].key.p, q.req[n].key.len);
			store_prefetch(w->thread, q.hash[n], false);
			n++;
		}
		for (unsigned i = 0; i < n; i++)
			store_prefetch(w->thread, q.hash[i], true);
		for (unsigned i = 0; i < n; i++) {
			size_t end = i + 1 < n ? q.start[i + 1] : other ? q.start[n] : off;

			run(w, c, &q.req[i], &q.hash[i], now, out);
			if (out->error != 0)
				return out_failed(w, c);
			if (proto_out_paused(out) && end < len) {
				proto_parser_reset(&c->parser); /* back between lines, at `end` */
				c->paused_rest = len - end;
				return PROCESS_YIELD;
			}
		}
		if (!other)
			continue;
		st = run_event(w, c, ev, &q.req[n], now, out, &done);
		if (st == PROCESS_CLOSE || done)
			return st;
		if (out->error != 0)
			return out_failed(w, c);
		if (st == PROCESS_PAUSED || (proto_out_paused(out) && off < len)) {
			c->paused_rest = len - off;
			return st == PROCESS_PAUSED ? PROCESS_PAUSED : PROCESS_YIELD;
		}
	}
}

enum process_status process_resume(struct process_worker *w, struct process_conn *c, uint32_t now,
				   struct proto_out *out)
{
	if (!c->paused)
		return PROCESS_OK;
	do_get(w, c, &c->get_req, NULL, now, out);
	if (out->error != 0) {
		c->paused = false;
		w->conn_errors++;
		process_conn_close(w, c);
		return PROCESS_CLOSE;
	}
	return c->paused ? PROCESS_PAUSED : PROCESS_OK;
}
