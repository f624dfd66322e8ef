/*
 * The meta protocol's request lines: mg, ms, md, ma, me (mn needs nothing).
 *
 * memcached 1.6 checks a meta line in a fixed order, and which error a
 * client sees depends on it: token count, key length, then the flags in one
 * pass (_meta_flag_preparse: a duplicate or unknown flag stops at once, a bad
 * numeric token is remembered and the pass goes on, so the last one wins),
 * then per-command checks (M mode, opaque length). ms errors found after its
 * <datalen> was read swallow the data block; earlier ones do not.
 */
#include <string.h>

#include "proto_internal.h"

static void fail(struct proto_request *req, struct proto_line_result *lr, enum proto_error err)
{
	req->error = err;
	lr->ev = PROTO_EV_ERROR;
}

static struct proto_tok arg(struct proto_tok t)
{
	struct proto_tok a = {t.p + 1, t.len - 1};

	return a;
}

/*
 * One pass over the flag tokens from `start`. Returns false on error with
 * *err set the way memcached's errstr ends up; `err` comes in holding the
 * default message of the command.
 */
static bool meta_flags(struct proto_parser *p, struct proto_tok *t, size_t start,
		       struct proto_request *req, enum proto_error *err)
{
	struct proto_meta *m = &req->meta;
	bool has_error = false;
	size_t i;

	for (i = start; t[i].len != 0; i++) {
		unsigned char o = (unsigned char)t[i].p[0];

		if (o >= 127 || o < 'A' || PROTO_META_HAS(m, o)) {
			/* memcached's seen[] covers 0..126; below 'A' no flag is known */
			if (o >= 127 || PROTO_META_HAS(m, o)) {
				*err = PROTO_ERR_META_DUP_FLAG;
				return false;
			}
			*err = PROTO_ERR_META_INVALID_FLAG;
			return false;
		}
		m->seen |= PROTO_META_BIT(o);
		if (m->norder < PROTO_META_FLAGS_MAX)
			m->order[m->norder++] = (char)o;
		switch (o) {
		case 'b': {
			size_t n = proto_base64_decode(req->key.p, req->key.len, p->keybuf,
						       sizeof(p->keybuf));

			if (n == 0) {
				*err = PROTO_ERR_META_KEY_DECODE;
				has_error = true;
			}
			req->key.p = p->keybuf;
			req->key.len = (uint32_t)n;
			m->key_binary = true;
			break;
		}
		case 'N':
			if (!proto_strtol(arg(t[i]), &m->vivify_ttl)) {
				*err = PROTO_ERR_META_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'T':
			if (!proto_strtol(arg(t[i]), &m->ttl)) {
				*err = PROTO_ERR_META_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'R':
			if (!proto_strtol(arg(t[i]), &m->recache_ttl)) {
				*err = PROTO_ERR_META_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'O':
			if (t[i].len <= PROTO_OPAQUE_MAX) {
				memcpy(m->opaque, t[i].p, t[i].len);
				m->opaque_len = (uint8_t)t[i].len;
			} else {
				m->opaque_len = 0xff; /* checked by each command, in its order */
			}
			break;
		case 'P':
		case 'L':
		case 'l':
		case 'k':
		case 's':
		case 't':
		case 'c':
		case 'f':
		case 'v':
		case 'h':
		case 'u':
		case 'q':
		case 'I':
			break;
		case 'F':
			/* memcached forgets to set errstr here: the previous one stays */
			if (!proto_strtoul(arg(t[i]), &m->client_flags))
				has_error = true;
			break;
		case 'C':
			if (!proto_strtoull(arg(t[i]), &m->cas)) {
				*err = PROTO_ERR_META_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'M':
			if (t[i].len != 2) {
				*err = PROTO_ERR_META_BAD_M_LENGTH;
				has_error = true;
			} else {
				m->mode = t[i].p[1];
			}
			break;
		case 'J':
			if (!proto_strtoull(arg(t[i]), &m->initial)) {
				*err = PROTO_ERR_META_BAD_INITIAL;
				has_error = true;
			}
			break;
		case 'D':
			if (!proto_strtoull(arg(t[i]), &m->delta)) {
				*err = PROTO_ERR_META_BAD_DELTA;
				has_error = true;
			}
			break;
		default:
			*err = PROTO_ERR_META_INVALID_FLAG;
			return false;
		}
	}
	return !has_error;
}

static bool opaque_too_long(const struct proto_request *req)
{
	return req->meta.opaque_len == 0xff;
}

static void meta_get(struct proto_parser *p, struct proto_tok *t, size_t ntok,
		     struct proto_request *req, struct proto_line_result *lr)
{
	enum proto_error err = PROTO_ERR_BAD_FORMAT;

	if (ntok > PROTO_META_MAX_TOKENS) {
		fail(req, lr, PROTO_ERR_META_TOO_MANY_FLAGS);
		return;
	}
	if (!meta_flags(p, t, 2, req, &err)) {
		fail(req, lr, err);
		return;
	}
	req->noreply = PROTO_META_HAS(&req->meta, 'q');
	if (opaque_too_long(req)) {
		req->noreply = false;
		fail(req, lr, PROTO_ERR_META_OPAQUE_TOO_LONG);
	}
}

static void meta_set(struct proto_parser *p, struct proto_tok *t, size_t ntok,
		     struct proto_request *req, struct proto_line_result *lr)
{
	enum proto_error err = PROTO_ERR_BAD_FORMAT;
	int32_t vlen;
	bool ok;

	if (ntok == 3) {
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
		return;
	}
	if (ntok > PROTO_META_MAX_TOKENS) {
		fail(req, lr, PROTO_ERR_META_TOO_MANY_FLAGS2);
		return;
	}
	if (!proto_strtol(t[2], &vlen) || vlen < 0 || vlen > INT32_MAX - 2) {
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
		return;
	}
	req->value_len = (uint32_t)vlen;
	/* from here on, an error swallows the data block */
	lr->swallow = (uint64_t)vlen + 2;
	ok = meta_flags(p, t, 3, req, &err);
	if (ok) {
		char mode = req->meta.mode;

		if (mode != 0 && mode != 'E' && mode != 'A' && mode != 'P' && mode != 'R' &&
		    mode != 'S') {
			err = PROTO_ERR_META_BAD_MS_MODE;
			ok = false;
		} else if (opaque_too_long(req)) {
			err = PROTO_ERR_META_OPAQUE_TOO_LONG;
			ok = false;
		} else if (proto_item_too_large(p->cfg.item_size_max, req->key.len,
						req->meta.client_flags, (uint64_t)vlen)) {
			err = PROTO_ERR_TOO_LARGE;
			ok = false;
		}
	}
	if (!ok) {
		fail(req, lr, err);
		return;
	}
	req->noreply = PROTO_META_HAS(&req->meta, 'q');
	req->client_flags = req->meta.client_flags;
	req->exptime = req->meta.ttl;
	req->cas = req->meta.cas;
	lr->swallow = 0;
	lr->has_value = true;
	lr->value_len = (uint32_t)vlen;
}

/* md and ma share their checks. */
static void meta_delete_arith(struct proto_parser *p, struct proto_tok *t, size_t ntok,
			      struct proto_request *req, struct proto_line_result *lr)
{
	enum proto_error err = PROTO_ERR_BAD_FORMAT;

	if (ntok > PROTO_META_MAX_TOKENS) {
		fail(req, lr, PROTO_ERR_META_TOO_MANY_FLAGS2);
		return;
	}
	if (req->cmd == PROTO_CMD_MA)
		req->meta.delta = 1;
	if (!meta_flags(p, t, 2, req, &err)) {
		fail(req, lr, PROTO_ERR_META_INVALID_OR_DUP);
		return;
	}
	req->noreply = PROTO_META_HAS(&req->meta, 'q');
	if (req->cmd == PROTO_CMD_MA) {
		char mode = req->meta.mode;

		if (mode != 0 && mode != 'I' && mode != '+' && mode != 'D' && mode != '-') {
			req->noreply = false;
			fail(req, lr, PROTO_ERR_META_BAD_MA_MODE);
			return;
		}
		req->delta = req->meta.delta;
	}
	if (opaque_too_long(req)) {
		req->noreply = false;
		fail(req, lr, PROTO_ERR_META_OPAQUE_TOO_LONG);
	}
}

static void meta_debug(struct proto_parser *p, struct proto_tok *t, size_t ntok,
		       struct proto_request *req, struct proto_line_result *lr)
{
	if (ntok >= 4 && t[2].len == 1 && t[2].p[0] == 'b') {
		size_t n =
		    proto_base64_decode(req->key.p, req->key.len, p->keybuf, sizeof(p->keybuf));

		if (n == 0) {
			fail(req, lr, PROTO_ERR_BAD_FORMAT);
			return;
		}
		req->key.p = p->keybuf;
		req->key.len = (uint32_t)n;
		req->meta.key_binary = true;
	}
}

void proto_meta_line(struct proto_parser *p, struct proto_tok *t, size_t ntok,
		     struct proto_request *req, struct proto_line_result *lr)
{
	if (ntok < 3) {
		/* me answers a missing key with a format error, the others with ERROR */
		fail(req, lr,
		     req->cmd == PROTO_CMD_ME ? PROTO_ERR_BAD_FORMAT : PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	if (t[1].len > PROTO_KEY_MAX) {
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
		return;
	}
	req->key.p = t[1].p;
	req->key.len = t[1].len;
	switch (req->cmd) {
	case PROTO_CMD_MG:
		meta_get(p, t, ntok, req, lr);
		break;
	case PROTO_CMD_MS:
		meta_set(p, t, ntok, req, lr);
		break;
	case PROTO_CMD_MD:
	case PROTO_CMD_MA:
		meta_delete_arith(p, t, ntok, req, lr);
		break;
	case PROTO_CMD_ME:
		meta_debug(p, t, ntok, req, lr);
		break;
	default:
		break;
	}
}
