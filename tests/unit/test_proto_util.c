#include "test_proto_util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Bytes with \r, \n and non-printables escaped, so transcripts stay one line each. */
static void sb_bytes(struct sbuf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			sb_add(b, "\\r", 2);
		else if (c == '\n')
			sb_add(b, "\\n", 2);
		else if (c < 32 || c >= 127 || c == '\\')
			sb_printf(b, "\\x%02x", c);
		else
			sb_add(b, (const char *)&c, 1);
	}
}

static bool is_storage(enum proto_cmd c)
{
	return (c >= PROTO_CMD_SET && c <= PROTO_CMD_CAS) || c == PROTO_CMD_MS;
}

/* Everything but the value. */
static void describe(struct sbuf *b, const struct proto_request *r)
{
	static const struct proto_meta no_meta;
	/* the parser writes the meta fields for the meta commands only */
	const struct proto_meta *m =
	    r->cmd >= PROTO_CMD_MG && r->cmd <= PROTO_CMD_ME ? &r->meta : &no_meta;

	sb_add(b, proto_cmd_name(r->cmd), strlen(proto_cmd_name(r->cmd)));
	if (r->noreply)
		sb_add(b, " nr", 3);
	if (r->nkeys > 0) {
		struct proto_span k;
		uint32_t pos = 0;

		sb_printf(b, " keys#%u=", r->nkeys);
		while (proto_key_next(r, &pos, &k)) {
			sb_bytes(b, k.p, k.len);
			sb_add(b, ",", 1);
		}
	} else if (r->key.len > 0 || (r->cmd >= PROTO_CMD_MG && r->cmd != PROTO_CMD_MN)) {
		sb_add(b, " k=", 3);
		sb_bytes(b, r->key.p, r->key.len);
	}
	if (r->client_flags)
		sb_printf(b, " f=%u", r->client_flags);
	if (r->exptime)
		sb_printf(b, " e=%d", r->exptime);
	if (r->cas)
		sb_printf(b, " cas=%" PRIu64, r->cas);
	if (r->delta)
		sb_printf(b, " d=%" PRIu64, r->delta);
	if (r->cmd == PROTO_CMD_VERBOSITY)
		sb_printf(b, " vb=%u", r->verbosity);
	if (r->has_delay)
		sb_add(b, " delay", 6);
	if (r->nargs > 0) {
		sb_printf(b, " args#%u=", r->nargs);
		sb_bytes(b, r->args.p, r->args.len);
	}
	if (m->norder > 0) {
		sb_add(b, " m=", 3);
		sb_add(b, m->order, m->norder);
	}
	if (m->opaque_len > 0 && m->opaque_len <= PROTO_OPAQUE_MAX) {
		sb_add(b, " ", 1);
		sb_add(b, m->opaque, m->opaque_len);
	}
	if (m->key_binary)
		sb_add(b, " bin", 4);
	if (m->mode)
		sb_printf(b, " M=%c", m->mode);
	if (PROTO_META_HAS(m, 'T'))
		sb_printf(b, " T=%d", m->ttl);
	if (PROTO_META_HAS(m, 'N'))
		sb_printf(b, " N=%d", m->vivify_ttl);
	if (PROTO_META_HAS(m, 'R'))
		sb_printf(b, " R=%d", m->recache_ttl);
	if (PROTO_META_HAS(m, 'F'))
		sb_printf(b, " F=%u", m->client_flags);
	if (PROTO_META_HAS(m, 'C'))
		sb_printf(b, " C=%" PRIu64, m->cas);
	if (PROTO_META_HAS(m, 'J'))
		sb_printf(b, " J=%" PRIu64, m->initial);
	if (r->cmd == PROTO_CMD_MA)
		sb_printf(b, " D=%" PRIu64, m->delta);
	if (is_storage(r->cmd))
		sb_printf(b, " v%u=", r->value_len);
}

struct run {
	struct sbuf out;
	struct sbuf pending; /* a partial request's description */
	struct sbuf value;   /* and its value so far */
	bool partial;
	bool closed;
};

static void on_event(struct run *st, enum proto_event ev, const struct proto_request *r)
{
	switch (ev) {
	case PROTO_EV_REQUEST:
		if (r->value_partial) {
			st->pending.len = 0;
			st->value.len = 0;
			sb_add(&st->pending, "", 0);
			describe(&st->pending, r);
			sb_add(&st->value, r->value.p, r->value.len);
			st->partial = true;
			break;
		}
		describe(&st->out, r);
		if (is_storage(r->cmd))
			sb_bytes(&st->out, r->value.p, r->value.len);
		sb_add(&st->out, "\n", 1);
		break;
	case PROTO_EV_VALUE:
		sb_add(&st->value, r->value.p, r->value.len);
		break;
	case PROTO_EV_VALUE_END:
		sb_add(&st->out, st->pending.p, st->pending.len);
		sb_bytes(&st->out, st->value.p, st->value.len);
		sb_add(&st->out, "\n", 1);
		st->partial = false;
		break;
	case PROTO_EV_ERROR:
		st->partial = false;
		sb_printf(&st->out, "ERR%s %s\n", r->noreply ? " nr" : "",
			  proto_error_string(r->error));
		break;
	case PROTO_EV_CLOSE:
		sb_add(&st->out, "CLOSE\n", 6);
		st->closed = true;
		break;
	case PROTO_EV_NEED_MORE:
		break;
	}
}

char *proto_transcript(const struct proto_config *cfg, const char *in, size_t len,
		       const size_t *cuts, size_t ncuts)
{
	static char line_buf[PROTO_LINE_BUF_DEFAULT];
	struct proto_parser p;
	struct run st = {0};
	size_t start = 0, i;

	proto_parser_init(&p, cfg, line_buf, sizeof(line_buf));
	sb_add(&st.out, "", 0);
	for (i = 0; i <= ncuts && !st.closed; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		size_t n = end - start, off = 0;
		/* each chunk in its own allocation: a span that outlives it is an ASan error */
		char *chunk = malloc(n > 0 ? n : 1);

		memcpy(chunk, in + start, n);
		for (;;) {
			struct proto_request r;
			size_t used = 0;
			enum proto_event ev = proto_parse(&p, chunk + off, n - off, &used, &r);

			off += used;
			if (ev == PROTO_EV_NEED_MORE)
				break;
			on_event(&st, ev, &r);
			if (st.closed)
				break;
		}
		free(chunk);
		start = end;
	}
	if (st.partial)
		sb_add(&st.out, "PARTIAL\n", 8);
	free(st.pending.p);
	free(st.value.p);
	return st.out.p;
}

int proto_check_splits(const struct proto_config *cfg, const char *in, size_t len,
		       const char *expected)
{
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	char *got = proto_transcript(cfg, in, len, NULL, 0);
	int rc = 0;
	size_t i;

	if (strcmp(got, expected) != 0) {
		printf("# whole: expected\n#   %s# got\n#   %s", expected, got);
		rc = -1;
	}
	free(got);
	for (i = 1; rc == 0 && i < len; i++) {
		got = proto_transcript(cfg, in, len, &i, 1);
		if (strcmp(got, expected) != 0) {
			printf("# cut at %zu: expected\n#   %s# got\n#   %s", i, expected, got);
			rc = (int)i;
		}
		free(got);
	}
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	if (rc == 0 && len > 1) {
		got = proto_transcript(cfg, in, len, cuts, len - 1);
		if (strcmp(got, expected) != 0) {
			printf("# byte by byte: expected\n#   %s# got\n#   %s", expected, got);
			rc = 1;
		}
		free(got);
	}
	free(cuts);
	return rc;
}
