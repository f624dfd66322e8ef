/*
 * Replies. Header bytes (status lines, VALUE lines, meta flags) are formatted
 * into the caller's buffer; values are only referenced, by an iovec, so the
 * transport can point a packet at the item. Consecutive copied bytes share
 * one iovec.
 *
 * Which replies a noreply/q request suppresses lives here, next to the
 * strings: text noreply drops every line; meta q drops EN for mg and the
 * nominal HD (or ma's VA) for ms, md and ma. Errors from meta commands are
 * never suppressed; the parser clears req->noreply for them.
 */
#include <errno.h>
#include <string.h>

#include "dpcache/proto.h"
#include "proto_strings.h"

void proto_out_init(struct proto_out *o, char *buf, size_t cap, struct iovec *iov, unsigned iov_cap)
{
	o->buf = buf;
	o->cap = cap;
	o->used = 0;
	o->iov = iov;
	o->iov_cap = iov_cap;
	o->iov_cnt = 0;
	o->total = 0;
	o->error = 0;
	o->segs = NULL;
	o->seg = 0;
	o->limit = 0;
}

void proto_out_init_segmented(struct proto_out *o, const struct proto_out_segments *segs)
{
	proto_out_init(o, NULL, 0, NULL, 0);
	o->segs = segs;
}

static int out_fail(struct proto_out *o)
{
	o->error = -ENOSPC;
	return o->error;
}

/* A segmented reply moves on to its next segment. */
static int out_next_seg(struct proto_out *o)
{
	int rc = o->segs->next(o);

	if (rc < 0) {
		o->error = rc;
		return rc;
	}
	o->seg++;
	o->used = 0;
	return 0;
}

/* Take `n` bytes of one segment (the next one if the current is short). */
static char *seg_take(struct proto_out *o, size_t n)
{
	char *p;

	if (o->cap - o->used < n) {
		if (out_next_seg(o) < 0)
			return NULL;
		if (o->cap < n) {
			out_fail(o);
			return NULL;
		}
	}
	p = o->buf + o->used;
	o->used += n;
	o->total += n;
	return p;
}

/* Copy into a segmented reply, spilling over as many segments as it takes. */
static int seg_copy(struct proto_out *o, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = o->cap - o->used, k;

		if (room == 0) {
			if (out_next_seg(o) < 0)
				return o->error;
			continue;
		}
		k = n < room ? n : room;
		memcpy(o->buf + o->used, p, k);
		o->used += k;
		o->total += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Take `n` bytes of the buffer, in the last iovec if it ends where they start. */
static char *out_take(struct proto_out *o, size_t n)
{
	struct iovec *last;
	char *p;

	if (o->error != 0)
		return NULL;
	if (o->segs != NULL)
		return seg_take(o, n);
	if (o->cap - o->used < n) {
		out_fail(o);
		return NULL;
	}
	p = o->buf + o->used;
	last = o->iov_cnt > 0 ? &o->iov[o->iov_cnt - 1] : NULL;
	if (last == NULL || (char *)last->iov_base + last->iov_len != p) {
		if (o->iov_cnt == o->iov_cap) {
			out_fail(o);
			return NULL;
		}
		last = &o->iov[o->iov_cnt++];
		last->iov_base = p;
		last->iov_len = 0;
	}
	o->used += n;
	last->iov_len += n;
	o->total += n;
	return p;
}

/*
 * memcpy for the short lines most replies are ("STORED\r\n"): 8 to 16 bytes
 * as two overlapping 8-byte moves instead of a call.
 */
static inline void copy_line(char *dst, const void *src, size_t n)
{
	uint64_t a, b;

	if (n < 8 || n > 16) {
		memcpy(dst, src, n);
		return;
	}
	memcpy(&a, src, 8);
	memcpy(&b, (const char *)src + n - 8, 8);
	memcpy(dst, &a, 8);
	memcpy(dst + n - 8, &b, 8);
}

int proto_out_copy(struct proto_out *o, const void *p, size_t n)
{
	char *dst;

	if (n == 0)
		return o->error;
	if (o->segs != NULL) {
		if (o->error != 0)
			return o->error;
		if (n > o->cap - o->used)
			return seg_copy(o, p, n);
		copy_line(o->buf + o->used, p, n); /* fits the current segment */
		o->used += n;
		o->total += n;
		return 0;
	}
	dst = out_take(o, n);
	if (dst == NULL)
		return o->error;
	copy_line(dst, p, n);
	return 0;
}

int proto_out_ref(struct proto_out *o, const void *p, size_t n)
{
	if (o->error != 0)
		return o->error;
	if (n == 0)
		return 0;
	if (o->segs != NULL)
		return seg_copy(o, p, n);
	if (o->iov_cnt == o->iov_cap)
		return out_fail(o);
	o->iov[o->iov_cnt].iov_base = (void *)(uintptr_t)p;
	o->iov[o->iov_cnt].iov_len = n;
	o->iov_cnt++;
	o->total += n;
	return 0;
}

void *proto_out_reserve(struct proto_out *o, size_t n)
{
	return n == 0 ? NULL : out_take(o, n);
}

void proto_out_mark(const struct proto_out *o, struct proto_out_mark *m)
{
	m->used = o->used;
	m->total = o->total;
	m->iov_cnt = o->iov_cnt;
	m->last_len = o->iov_cnt > 0 ? o->iov[o->iov_cnt - 1].iov_len : 0;
	m->seg = o->seg;
}

void proto_out_rewind(struct proto_out *o, const struct proto_out_mark *m)
{
	if (o->segs != NULL && m->seg != o->seg) {
		o->segs->back(o, m->seg);
		o->seg = m->seg;
	}
	o->used = m->used;
	o->total = m->total;
	o->iov_cnt = m->iov_cnt;
	if (m->iov_cnt > 0)
		o->iov[m->iov_cnt - 1].iov_len = m->last_len;
	o->error = 0;
}

long proto_out_flatten(const struct proto_out *o, void *dst, size_t cap)
{
	size_t off = 0;
	unsigned i;

	if (o->segs != NULL)
		return -ENOTSUP;
	if (o->total > cap)
		return -ENOSPC;
	for (i = 0; i < o->iov_cnt; i++) {
		memcpy((char *)dst + off, o->iov[i].iov_base, o->iov[i].iov_len);
		off += o->iov[i].iov_len;
	}
	return (long)off;
}

static int out_str(struct proto_out *o, const char *s)
{
	return proto_out_copy(o, s, strlen(s));
}

static int out_u64(struct proto_out *o, uint64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return proto_out_copy(o, tmp + i, sizeof(tmp) - (size_t)i);
}

static int out_i64(struct proto_out *o, int64_t v)
{
	if (v < 0) {
		proto_out_copy(o, "-", 1);
		return out_u64(o, (uint64_t)0 - (uint64_t)v);
	}
	return out_u64(o, (uint64_t)v);
}

static int out_crlf(struct proto_out *o)
{
	return proto_out_copy(o, PS_CRLF, 2);
}

int proto_compose_line(struct proto_out *o, const char *line)
{
	out_str(o, line);
	return out_crlf(o);
}

int proto_compose_reply(struct proto_out *o, const struct proto_request *req, enum proto_reply r)
{
#define LINE(str) {str PS_CRLF, sizeof(str PS_CRLF) - 1}
	/* Whole lines with their lengths: one copy per reply (STORED for every set). */
	static const struct {
		const char *s;
		size_t len;
	} lines[PROTO_R__COUNT] = {
	    [PROTO_R_STORED] = LINE(PS_STORED),	  [PROTO_R_NOT_STORED] = LINE(PS_NOT_STORED),
	    [PROTO_R_EXISTS] = LINE(PS_EXISTS),	  [PROTO_R_NOT_FOUND] = LINE(PS_NOT_FOUND),
	    [PROTO_R_DELETED] = LINE(PS_DELETED), [PROTO_R_TOUCHED] = LINE(PS_TOUCHED),
	    [PROTO_R_OK] = LINE(PS_OK),		  [PROTO_R_RESET] = LINE(PS_RESET),
	    [PROTO_R_END] = LINE(PS_END),	  [PROTO_R_MN] = LINE(PS_MN),
	    [PROTO_R_EN] = LINE(PS_EN),
	};
#undef LINE

	if ((unsigned)r >= PROTO_R__COUNT)
		return -EINVAL;
	if (req != NULL && req->noreply)
		return o->error;
	return proto_out_copy(o, lines[r].s, lines[r].len);
}

int proto_compose_error_code(struct proto_out *o, enum proto_error err)
{
	return proto_compose_line(o, proto_error_string(err));
}

int proto_compose_error(struct proto_out *o, const struct proto_request *req)
{
	if (req->noreply)
		return o->error;
	return proto_compose_error_code(o, req->error);
}

int proto_compose_value_line(struct proto_out *o, struct proto_span key, uint32_t client_flags,
			     uint32_t value_len, bool with_cas, uint64_t cas)
{
	out_str(o, PS_VALUE);
	proto_out_copy(o, key.p, key.len);
	proto_out_copy(o, " ", 1);
	out_u64(o, client_flags);
	proto_out_copy(o, " ", 1);
	out_u64(o, value_len);
	if (with_cas) {
		proto_out_copy(o, " ", 1);
		out_u64(o, cas);
	}
	return out_crlf(o);
}

int proto_compose_value(struct proto_out *o, struct proto_span key, uint32_t client_flags,
			const void *value, uint32_t value_len, bool with_cas, uint64_t cas)
{
	proto_compose_value_line(o, key, client_flags, value_len, with_cas, cas);
	proto_out_ref(o, value, value_len);
	return out_crlf(o);
}

int proto_compose_number(struct proto_out *o, const struct proto_request *req, uint64_t n)
{
	if (req != NULL && req->noreply)
		return o->error;
	out_u64(o, n);
	return out_crlf(o);
}

int proto_compose_version(struct proto_out *o, const char *version)
{
	out_str(o, PS_VERSION);
	return proto_compose_line(o, version);
}

int proto_compose_stat(struct proto_out *o, const char *name, const char *value)
{
	out_str(o, PS_STAT);
	out_str(o, name);
	proto_out_copy(o, " ", 1);
	return proto_compose_line(o, value);
}

/* " k<key>", base64 and " b" for a binary key (META_KEY in memcached) */
static int out_meta_key(struct proto_out *o, struct proto_span key, bool binary)
{
	char enc[(PROTO_KEY_MAX + 2) / 3 * 4 + 4];
	size_t n;

	proto_out_copy(o, " k", 2);
	if (!binary)
		return proto_out_copy(o, key.p, key.len);
	n = proto_base64_encode(key.p, key.len, enc, sizeof(enc));
	proto_out_copy(o, enc, n);
	return proto_out_copy(o, " b", 2);
}

static int out_flag_u64(struct proto_out *o, char flag, uint64_t v)
{
	char f[2] = {' ', flag};

	proto_out_copy(o, f, 2);
	return out_u64(o, v);
}

static bool meta_suppressed(const struct proto_request *req, enum proto_meta_code code,
			    const struct proto_meta_item *it)
{
	if (!req->noreply)
		return false;
	switch (req->cmd) {
	case PROTO_CMD_MG:
		return code == PROTO_META_EN;
	case PROTO_CMD_MA:
		/* memcached skips only the nominal reply, not one after N created the item */
		return (code == PROTO_META_HD || code == PROTO_META_VA) &&
		       (it == NULL || !it->created);
	default:
		return code == PROTO_META_HD;
	}
}

/*
 * The return flags, in request order, for a reply that has an item: each
 * command's reply loop in memcached knows a different subset. t shows the
 * TTL as it stood at that point of the loop: T (or N creating the item)
 * earlier in the flags has already changed it.
 */
static void meta_item_flags(struct proto_out *o, const struct proto_request *req,
			    const struct proto_meta_item *it)
{
	const struct proto_meta *m = &req->meta;
	bool get = req->cmd == PROTO_CMD_MG;
	bool ttl_new = false;
	unsigned i;

	for (i = 0; i < m->norder; i++) {
		switch (m->order[i]) {
		case 'T':
			if (it->ttl_changed)
				ttl_new = true;
			break;
		case 'N':
			if (it->created)
				ttl_new = true;
			break;
		case 's':
			if (get)
				out_flag_u64(o, 's', it->value_len);
			break;
		case 't':
			proto_out_copy(o, " t", 2);
			out_i64(o, ttl_new ? it->ttl_new : it->ttl);
			break;
		case 'c':
			out_flag_u64(o, 'c', it->cas);
			break;
		case 'f':
			if (get)
				out_flag_u64(o, 'f', it->client_flags);
			break;
		case 'l':
			if (get)
				out_flag_u64(o, 'l', it->last_access);
			break;
		case 'h':
			if (get)
				proto_out_copy(o, it->fetched ? " h1" : " h0", 3);
			break;
		case 'O':
			proto_out_copy(o, " ", 1);
			proto_out_copy(o, m->opaque, m->opaque_len);
			break;
		case 'k':
			out_meta_key(o, it->key, it->key_binary);
			break;
		default:
			break;
		}
	}
}

/* O and k only: misses, md, and ma without an item. ms adds c. */
static void meta_plain_flags(struct proto_out *o, const struct proto_request *req,
			     const struct proto_meta_item *it)
{
	const struct proto_meta *m = &req->meta;
	unsigned i;

	for (i = 0; i < m->norder; i++) {
		switch (m->order[i]) {
		case 'O':
			proto_out_copy(o, " ", 1);
			proto_out_copy(o, m->opaque, m->opaque_len);
			break;
		case 'k':
			out_meta_key(o, it->key, it->key_binary);
			break;
		case 'c':
			if (req->cmd == PROTO_CMD_MS)
				out_flag_u64(o, 'c', it->cas);
			break;
		default:
			break;
		}
	}
}

int proto_compose_meta_line(struct proto_out *o, const struct proto_request *req,
			    enum proto_meta_code code, const struct proto_meta_item *it)
{
	static const char *const codes[] = {"HD", "VA ", "EN", "NF", "NS", "EX"};
	struct proto_meta_item none;
	bool hit = code == PROTO_META_HD || code == PROTO_META_VA;

	if ((unsigned)code > PROTO_META_EX)
		return -EINVAL;
	if (meta_suppressed(req, code, it))
		return o->error != 0 ? o->error : 1;
	if (it == NULL) {
		memset(&none, 0, sizeof(none));
		none.key.p = req->key.p;
		none.key.len = req->key.len;
		none.key_binary = req->meta.key_binary;
		it = &none;
	}
	out_str(o, codes[code]);
	if (code == PROTO_META_VA)
		out_u64(o, it->value_len);
	if (hit && (req->cmd == PROTO_CMD_MG || req->cmd == PROTO_CMD_MA))
		meta_item_flags(o, req, it);
	else
		meta_plain_flags(o, req, it);
	if (hit && req->cmd == PROTO_CMD_MG) {
		if (it->win_sent)
			proto_out_copy(o, " Z", 2);
		if (it->stale)
			proto_out_copy(o, " X", 2);
		if (it->win)
			proto_out_copy(o, " W", 2);
	}
	return out_crlf(o);
}

int proto_compose_meta(struct proto_out *o, const struct proto_request *req,
		       enum proto_meta_code code, const struct proto_meta_item *it)
{
	int rc = proto_compose_meta_line(o, req, code, it);

	if (rc != 0)
		return rc < 0 ? rc : o->error;
	if (code == PROTO_META_VA) {
		proto_out_ref(o, it->value, it->value_len);
		out_crlf(o);
	}
	return o->error;
}

int proto_compose_me(struct proto_out *o, const struct proto_me_info *info)
{
	out_str(o, PS_ME);
	if (info->key_binary) {
		char enc[(PROTO_KEY_MAX + 2) / 3 * 4 + 4];
		size_t n = proto_base64_encode(info->key.p, info->key.len, enc, sizeof(enc));

		proto_out_copy(o, enc, n);
	} else {
		proto_out_copy(o, info->key.p, info->key.len);
	}
	out_str(o, " exp=");
	out_i64(o, info->exp);
	out_str(o, " la=");
	out_u64(o, info->la);
	out_str(o, " cas=");
	out_u64(o, info->cas);
	out_str(o, info->fetched ? " fetch=yes" : " fetch=no");
	out_str(o, " cls=");
	out_u64(o, info->cls);
	out_str(o, " size=");
	out_u64(o, info->size);
	return out_crlf(o);
}
