/*
 * The request stream and memcached's text protocol.
 *
 * proto_parse is a small state machine over whatever bytes the transport has:
 * LINE (find '\n'), VALUE (hand out the data block), VALUE_CRLF (check the two
 * bytes after it), SWALLOW (drop a refused data block). A line that arrives
 * whole is tokenized where it lies; only a line split across inputs is copied,
 * into the caller's line buffer. Values are never copied: a value that
 * arrives whole is one span, a split one is a series of VALUE events.
 *
 * The line grammar copies memcached 1.6's process_command_ascii: tokens are
 * split on ' ' only, at most 24 are kept, numbers go through safe_strto*
 * (quirks included: "4294967296" flags wrap to 0), and "noreply" is only
 * recognised as the last token. Where memcached sends an error that
 * noreply suppresses, req->noreply is set on the error event too.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "proto_internal.h"
#include "proto_strings.h"

void proto_parser_init(struct proto_parser *p, const struct proto_config *cfg, char *line_buf,
		       uint32_t line_cap)
{
	memset(p, 0, sizeof(*p));
	if (cfg != NULL)
		p->cfg = *cfg;
	if (p->cfg.item_size_max == 0)
		p->cfg.item_size_max = PROTO_ITEM_SIZE_MAX_DEFAULT;
	if (p->cfg.udp_allow == 0)
		p->cfg.udp_allow = PROTO_UDP_ALLOW_DEFAULT;
	p->line = line_buf;
	p->line_cap = line_buf != NULL ? line_cap : 0;
}

void proto_parser_reset(struct proto_parser *p)
{
	p->state = PROTO_PS_LINE;
	p->line_len = 0;
	p->value_left = 0;
	p->swallow_left = 0;
	p->crlf_have = 0;
	p->crlf_bad = false;
}

void proto_parser_discard_value(struct proto_parser *p)
{
	if (p->state != PROTO_PS_VALUE && p->state != PROTO_PS_VALUE_CRLF)
		return;
	p->swallow_left = (uint64_t)p->value_left + (2u - p->crlf_have);
	p->value_left = 0;
	p->state = p->swallow_left > 0 ? PROTO_PS_SWALLOW : PROTO_PS_LINE;
}

/* ---- numbers, as memcached's util.c reads them ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * strtoull's walk over a token: leading space, a sign, decimal digits. Fails
 * like safe_strto* does: no digits, or a character after them that is neither
 * the token's end nor a space. `overflow` reports ERANGE of a 64-bit value.
 */
/*
 * The common case, a token of 1..19 digits only (it cannot overflow): its
 * value, and true. The callers try it first, then scan_number.
 */
static inline bool plain_number(struct proto_tok t, uint64_t *v)
{
	uint64_t n = 0;

	if (t.len - 1u >= 19u)
		return false;
	for (uint32_t i = 0; i < t.len; i++) {
		unsigned d = (unsigned)(t.p[i] - '0');

		if (d >= 10u)
			return false;
		n = n * 10 + d;
	}
	*v = n;
	return true;
}

static bool scan_number(struct proto_tok t, uint64_t *mag, bool *neg, bool *overflow)
{
	uint32_t i = 0;
	bool digits = false;

	*mag = 0;
	*neg = false;
	*overflow = false;
	while (i < t.len && is_space(t.p[i]))
		i++;
	if (i < t.len && (t.p[i] == '+' || t.p[i] == '-'))
		*neg = t.p[i++] == '-';
	for (; i < t.len && t.p[i] >= '0' && t.p[i] <= '9'; i++) {
		unsigned d = (unsigned)(t.p[i] - '0');

		digits = true;
		if (*mag > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			*mag = *mag * 10 + d;
	}
	if (!digits)
		return false;
	return i == t.len || is_space(t.p[i]);
}

bool proto_strtoull(struct proto_tok t, uint64_t *out)
{
	uint64_t mag, v;
	bool neg, overflow;

	if (plain_number(t, out))
		return true;
	*out = 0;
	if (!scan_number(t, &mag, &neg, &overflow) || overflow)
		return false;
	v = neg ? (uint64_t)0 - mag : mag;
	/* memcached refuses a '-' only when the result looks negative */
	if (neg && (int64_t)v < 0)
		return false;
	*out = v;
	return true;
}

bool proto_strtoul(struct proto_tok t, uint32_t *out)
{
	uint64_t v;
	bool ok = plain_number(t, &v) || proto_strtoull(t, &v);

	*out = ok ? (uint32_t)v : 0; /* unsigned long into uint32_t: wraps */
	return ok;
}

bool proto_strtol(struct proto_tok t, int32_t *out)
{
	uint64_t mag;
	bool neg, overflow;
	int64_t v;

	if (plain_number(t, &mag) && mag <= (uint64_t)INT64_MAX) {
		*out = (int32_t)(uint32_t)mag; /* long into int32_t: wraps */
		return true;
	}
	*out = 0;
	if (!scan_number(t, &mag, &neg, &overflow) || overflow)
		return false;
	if ((!neg && mag > (uint64_t)INT64_MAX) || (neg && mag > (uint64_t)INT64_MAX + 1))
		return false; /* strtol's ERANGE */
	v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	*out = (int32_t)(uint32_t)(uint64_t)v; /* long into int32_t: wraps */
	return true;
}

/* ---- tokens ---- */

/* The first ' ' in [p, end), or end: eight bytes a step (keys are long). */
static const char *find_space(const char *p, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, spaces = 0x2020202020202020ull;

	for (; end - p >= 8; p += 8) {
		uint64_t x;

		memcpy(&x, p, 8);
		x ^= spaces; /* a space is now a zero byte; the lowest one flagged is exact */
		x = (x - ones) & ~x & (ones << 7);
		if (x != 0)
			return p + (__builtin_ctzll(x) >> 3);
	}
#endif
	while (p < end && *p != ' ')
		p++;
	return p;
}

/*
 * memcached's tokenize_command on a span: split on ' ', keep at most max - 1
 * tokens; the terminal token (len 0) points at the unprocessed rest, or is
 * NULL when the whole line was consumed. Returns the count with the terminal.
 */
size_t proto_tokenize(const char *s, size_t len, struct proto_tok *t, size_t max)
{
	const char *p = s, *end = s + len;
	size_t n = 0;

	for (;;) {
		const char *sp;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		sp = find_space(p, end);
		t[n].p = p;
		t[n].len = (uint32_t)(sp - p);
		n++;
		p = sp;
		if (p == end)
			break;
		p++; /* past the space */
		if (n == max - 1)
			break; /* the rest, from after this space, is the terminal's */
	}
	t[n].p = p == end ? NULL : p;
	t[n].len = 0;
	return n + 1;
}

static bool tok_is(struct proto_tok t, const char *s)
{
	size_t n = strlen(s);

	return t.len == n && memcmp(t.p, s, n) == 0;
}

bool proto_key_next(const struct proto_request *req, uint32_t *pos, struct proto_span *key)
{
	const char *s = req->keys.p;
	uint32_t i = *pos, j;

	while (i < req->keys.len && s[i] == ' ')
		i++;
	if (i >= req->keys.len)
		return false;
	for (j = i; j < req->keys.len && s[j] != ' '; j++)
		;
	key->p = s + i;
	key->len = j - i;
	*pos = j;
	return true;
}

bool proto_item_too_large(uint32_t item_size_max, size_t nkey, uint32_t client_flags,
			  uint64_t value_len)
{
	/* memcached's item_size_ok: item header (48) + CAS (8) + key + NUL +
	 * value + "\r\n" + 4 bytes of flags when they are not 0. */
	uint64_t total = 48 + 8 + (uint64_t)nkey + 1 + value_len + 2 + (client_flags ? 4 : 0);

	return total > item_size_max;
}

/* ---- the text commands ---- */

/*
 * The command of an event. The meta fields are written (zeroed first) only
 * for the meta commands: proto_parse leaves them alone otherwise, which
 * saves zeroing half the request for every other event.
 */
static void set_cmd(struct proto_request *req, enum proto_cmd cmd)
{
	req->cmd = cmd;
	if (cmd >= PROTO_CMD_MG && cmd <= PROTO_CMD_ME)
		memset(&req->meta, 0, sizeof(req->meta));
}

static void fail(struct proto_request *req, struct proto_line_result *lr, enum proto_error err)
{
	req->error = err;
	lr->ev = PROTO_EV_ERROR;
}

static bool noreply_maybe(const struct proto_tok *t, size_t ntok)
{
	return tok_is(t[ntok - 2], "noreply");
}

static void set_key(struct proto_request *req, struct proto_tok t)
{
	req->key.p = t.p;
	req->key.len = t.len;
}

static void text_retrieval(struct proto_tok *t, size_t ntok, const char *end,
			   struct proto_request *req, struct proto_line_result *lr)
{
	struct proto_span key;
	uint32_t pos = 0;
	size_t first = 1;

	if (req->cmd == PROTO_CMD_GAT || req->cmd == PROTO_CMD_GATS) {
		if (!proto_strtol(t[1], &req->exptime)) {
			fail(req, lr, PROTO_ERR_BAD_EXPTIME);
			return;
		}
		first = 2;
	}
	if (t[first].len == 0) {
		/* "gat 10": no key at all; memcached answers END */
		req->keys.p = end;
		req->keys.len = 0;
		return;
	}
	req->keys.p = t[first].p;
	req->keys.len = (uint32_t)(end - t[first].p);
	while (proto_key_next(req, &pos, &key)) {
		if (key.len > PROTO_KEY_MAX) {
			fail(req, lr, PROTO_ERR_BAD_FORMAT);
			return;
		}
		if (req->nkeys == 0)
			req->key = key;
		req->nkeys++;
	}
	(void)ntok;
}

static void text_storage(struct proto_parser *p, struct proto_tok *t, size_t ntok,
			 struct proto_request *req, struct proto_line_result *lr)
{
	bool cas = req->cmd == PROTO_CMD_CAS;
	int32_t vlen;

	if (ntok != (cas ? 7u : 6u) && ntok != (cas ? 8u : 7u)) {
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	req->noreply = noreply_maybe(t, ntok);
	if (t[1].len > PROTO_KEY_MAX) {
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
		return;
	}
	set_key(req, t[1]);
	if (!proto_strtoul(t[2], &req->client_flags) || !proto_strtol(t[3], &req->exptime) ||
	    !proto_strtol(t[4], &vlen) || (cas && !proto_strtoull(t[5], &req->cas)) || vlen < 0 ||
	    vlen > INT32_MAX - 2) {
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
		return;
	}
	req->value_len = (uint32_t)vlen;
	if (proto_item_too_large(p->cfg.item_size_max, t[1].len, req->client_flags,
				 (uint64_t)vlen)) {
		fail(req, lr, PROTO_ERR_TOO_LARGE);
		lr->swallow = (uint64_t)vlen + 2;
		return;
	}
	lr->has_value = true;
	lr->value_len = (uint32_t)vlen;
}

static void text_delete(struct proto_tok *t, size_t ntok, struct proto_request *req,
			struct proto_line_result *lr)
{
	if (ntok < 3 || ntok > 5) {
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	if (ntok > 3) {
		bool hold_is_zero = tok_is(t[2], "0");
		bool valid;

		req->noreply = noreply_maybe(t, ntok);
		valid = (ntok == 4 && (hold_is_zero || req->noreply)) ||
			(ntok == 5 && hold_is_zero && req->noreply);
		if (!valid) {
			fail(req, lr, PROTO_ERR_DELETE_USAGE);
			return;
		}
	}
	if (t[1].len > PROTO_KEY_MAX) {
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
		return;
	}
	set_key(req, t[1]);
}

/* incr, decr, touch: <cmd> <key> <number> [noreply] */
static void text_key_number(struct proto_tok *t, size_t ntok, struct proto_request *req,
			    struct proto_line_result *lr)
{
	if (ntok != 4 && ntok != 5) {
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	req->noreply = noreply_maybe(t, ntok);
	if (t[1].len > PROTO_KEY_MAX) {
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
		return;
	}
	set_key(req, t[1]);
	if (req->cmd == PROTO_CMD_TOUCH) {
		if (!proto_strtol(t[2], &req->exptime))
			fail(req, lr, PROTO_ERR_BAD_EXPTIME);
	} else if (!proto_strtoull(t[2], &req->delta)) {
		fail(req, lr, PROTO_ERR_BAD_DELTA);
	}
}

static void text_flush_all(struct proto_tok *t, size_t ntok, struct proto_request *req,
			   struct proto_line_result *lr)
{
	if (ntok < 2 || ntok > 4) {
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	req->noreply = noreply_maybe(t, ntok);
	if (ntok != (req->noreply ? 3u : 2u)) {
		if (!proto_strtol(t[1], &req->exptime)) {
			fail(req, lr, PROTO_ERR_BAD_EXPTIME);
			return;
		}
		req->has_delay = true;
	}
}

static void text_verbosity(struct proto_tok *t, size_t ntok, struct proto_request *req,
			   struct proto_line_result *lr)
{
	if (ntok != 3 && ntok != 4) {
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	req->noreply = noreply_maybe(t, ntok);
	if (!proto_strtoul(t[1], &req->verbosity))
		fail(req, lr, PROTO_ERR_BAD_FORMAT);
}

/* stats, shutdown: the executor reads the arguments. */
static void text_args(struct proto_tok *t, size_t ntok, const char *end, struct proto_request *req)
{
	struct proto_span a;
	uint32_t pos = 0;

	if (ntok < 3) {
		req->args.p = end;
		return;
	}
	req->args.p = t[1].p;
	req->args.len = (uint32_t)(end - t[1].p);
	set_key(req, t[1]);
	/* count the way proto_key_next walks them */
	req->keys = req->args;
	while (proto_key_next(req, &pos, &a))
		req->nargs++;
	req->keys.p = NULL;
	req->keys.len = 0;
}

static enum proto_cmd text_command(const struct proto_tok *c)
{
#define CMD(name, cmd) {name, sizeof(name) - 1, cmd}
	static const struct {
		const char *name;
		uint32_t len;
		enum proto_cmd cmd;
	} names[] = {
	    CMD("get", PROTO_CMD_GET),
	    CMD("gets", PROTO_CMD_GETS),
	    CMD("gat", PROTO_CMD_GAT),
	    CMD("gats", PROTO_CMD_GATS),
	    CMD("bget", PROTO_CMD_GET),
	    CMD("set", PROTO_CMD_SET),
	    CMD("add", PROTO_CMD_ADD),
	    CMD("replace", PROTO_CMD_REPLACE),
	    CMD("append", PROTO_CMD_APPEND),
	    CMD("prepend", PROTO_CMD_PREPEND),
	    CMD("cas", PROTO_CMD_CAS),
	    CMD("delete", PROTO_CMD_DELETE),
	    CMD("incr", PROTO_CMD_INCR),
	    CMD("decr", PROTO_CMD_DECR),
	    CMD("touch", PROTO_CMD_TOUCH),
	    CMD("flush_all", PROTO_CMD_FLUSH_ALL),
	    CMD("version", PROTO_CMD_VERSION),
	    CMD("verbosity", PROTO_CMD_VERBOSITY),
	    CMD("quit", PROTO_CMD_QUIT),
	    CMD("stats", PROTO_CMD_STATS),
	    CMD("shutdown", PROTO_CMD_SHUTDOWN),
	    CMD("mg", PROTO_CMD_MG),
	    CMD("ms", PROTO_CMD_MS),
	    CMD("md", PROTO_CMD_MD),
	    CMD("ma", PROTO_CMD_MA),
	    CMD("mn", PROTO_CMD_MN),
	    CMD("me", PROTO_CMD_ME),
	};
#undef CMD
	size_t i;

	/* Length and first letter before the bytes: one memcmp for most lines. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].len == c->len && names[i].name[0] == c->p[0] &&
		    memcmp(c->p, names[i].name, c->len) == 0)
			return names[i].cmd;
	return PROTO_CMD_NONE;
}

static bool is_storage(enum proto_cmd c)
{
	return c >= PROTO_CMD_SET && c <= PROTO_CMD_CAS;
}

/*
 * A command refused over UDP. Its data block, if the line says how long it
 * is, is dropped so the rest of the datagram still parses.
 */
static void udp_deny(struct proto_tok *t, size_t ntok, struct proto_request *req,
		     struct proto_line_result *lr)
{
	int32_t vlen;
	size_t at = 0;

	fail(req, lr, PROTO_ERR_UDP_DENIED);
	if (is_storage(req->cmd) && ntok >= 6)
		at = 4;
	else if (req->cmd == PROTO_CMD_MS && ntok >= 4)
		at = 2;
	if (at != 0 && proto_strtol(t[at], &vlen) && vlen >= 0 && vlen <= INT32_MAX - 2)
		lr->swallow = (uint64_t)vlen + 2;
}

static void text_line(struct proto_parser *p, const char *line, size_t len,
		      struct proto_request *req, struct proto_line_result *lr)
{
	struct proto_tok t[PROTO_MAX_TOKENS + 1];
	const char *end = line + len;
	size_t ntok = proto_tokenize(line, len, t, PROTO_MAX_TOKENS);

	if (ntok < 2 || t[0].len < 2) {
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	set_cmd(req, text_command(&t[0]));
	if (req->cmd == PROTO_CMD_NONE) {
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		return;
	}
	if (p->cfg.udp && (p->cfg.udp_allow & PROTO_CMD_BIT(req->cmd)) == 0) {
		udp_deny(t, ntok, req, lr);
		return;
	}
	switch (req->cmd) {
	case PROTO_CMD_GET:
	case PROTO_CMD_GETS:
	case PROTO_CMD_GAT:
	case PROTO_CMD_GATS:
		if (ntok < 3)
			fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		else
			text_retrieval(t, ntok, end, req, lr);
		break;
	case PROTO_CMD_SET:
	case PROTO_CMD_ADD:
	case PROTO_CMD_REPLACE:
	case PROTO_CMD_APPEND:
	case PROTO_CMD_PREPEND:
	case PROTO_CMD_CAS:
		text_storage(p, t, ntok, req, lr);
		break;
	case PROTO_CMD_DELETE:
		text_delete(t, ntok, req, lr);
		break;
	case PROTO_CMD_INCR:
	case PROTO_CMD_DECR:
	case PROTO_CMD_TOUCH:
		text_key_number(t, ntok, req, lr);
		break;
	case PROTO_CMD_FLUSH_ALL:
		text_flush_all(t, ntok, req, lr);
		break;
	case PROTO_CMD_VERBOSITY:
		text_verbosity(t, ntok, req, lr);
		break;
	case PROTO_CMD_STATS:
	case PROTO_CMD_SHUTDOWN:
		text_args(t, ntok, end, req);
		break;
	case PROTO_CMD_VERSION:
	case PROTO_CMD_QUIT:
	case PROTO_CMD_MN:
		break;
	case PROTO_CMD_MG:
	case PROTO_CMD_MS:
	case PROTO_CMD_MD:
	case PROTO_CMD_MA:
	case PROTO_CMD_ME:
		proto_meta_line(p, t, ntok, req, lr);
		break;
	default:
		fail(req, lr, PROTO_ERR_UNKNOWN_COMMAND);
		break;
	}
}

/* ---- the common lines, without the tokenizer ---- */

/*
 * The first byte at or below ' ' in [p, end) (a space, the line's end, a NUL
 * or another control byte), or end: eight bytes a step (keys are long).
 */
static const char *key_end(const char *p, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull;

	for (; end - p >= 8; p += 8) {
		uint64_t x;

		memcpy(&x, p, 8);
		x = (x - ones * 0x21) & ~x & (ones << 7); /* the lowest flagged byte is exact */
		if (x != 0)
			return p + (__builtin_ctzll(x) >> 3);
	}
#endif
	while (p < end && (unsigned char)*p > ' ')
		p++;
	return p;
}

/* " <1..9 digits>" at *p: its value, and *p moves past it; false if not. */
static inline __attribute__((always_inline)) bool short_field(const char **p, const char *end,
							      uint32_t *v)
{
	const char *q = *p, *d, *lim;
	uint32_t n = 0;

	if (q == end || *q != ' ')
		return false;
	d = ++q;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (end - d >= 8) {
		const uint64_t ones = 0x0101010101010101ull, high = ones << 7;
		uint64_t x, other;
		unsigned nd;

		/* bytes below '0' or above '9' flagged; the lowest flag is exact */
		memcpy(&x, d, 8);
		other = (((x - ones * '0') & ~x) | (x + ones * (127 - '9')) | x) & high;
		if (other != 0) {
			nd = (unsigned)__builtin_ctzll(other) >> 3;
			if (nd == 0)
				return false;
			for (unsigned i = 0; i < nd; i++)
				n = n * 10 + (unsigned)(d[i] - '0');
			*p = d + nd;
			*v = n;
			return true;
		}
	}
#endif
	lim = end - d > 9 ? d + 9 : end;
	for (; q < lim && (unsigned)(*q - '0') < 10u; q++)
		n = n * 10 + (unsigned)(*q - '0');
	if (q == d)
		return false;
	*p = q;
	*v = n;
	return true;
}

/*
 * Where a fast line ends at q: with `whole`, s..end is the line (its end
 * already cut off), so q must be end; otherwise "\n" or "\r\n" follows at q
 * (one '\r' before the '\n' is no part of the line). The bytes up to the end
 * of the line and its terminator, or 0.
 */
static size_t fast_line_end(const char *s, const char *q, const char *end, bool whole)
{
	if (whole)
		return q == end ? (size_t)(end - s) : 0;
	if (q < end && *q == '\n')
		return (size_t)(q + 1 - s);
	if (end - q >= 2 && q[0] == '\r' && q[1] == '\n')
		return (size_t)(q + 2 - s);
	return 0;
}

/*
 * The lines pipelined clients send most, read without the tokenizer:
 * "set <key> <flags> <exptime> <bytes>[ noreply]" (single spaces, numbers of
 * 1 to 9 digits) and "get <key>", keys without control bytes. The tokenizer
 * would split them the same way and the numbers read the same (no sign, no
 * overflow), so req and lr come out as text_line fills them. The line is
 * s..s+avail itself (`whole`), or starts at s and is found here, its end
 * and all, without looking for the '\n' first. Returns the bytes read (the
 * line and its terminator), or 0 for anything else (other spacing, longer
 * numbers, a NUL or control byte, no line end yet, UDP): text_line reads it.
 */
static inline __attribute__((always_inline)) size_t
text_fast(const struct proto_parser *p, const char *s, size_t avail, bool whole,
	  struct proto_request *req, struct proto_line_result *lr)
{
	const char *end = s + avail, *k = s + 4, *q;
	uint32_t klen, flags, exptime, vlen;
	bool set, noreply = false;
	size_t used;

	if (avail < 5 || p->cfg.udp)
		return 0;
	if (memcmp(s, "set ", 4) == 0)
		set = true;
	else if (memcmp(s, "get ", 4) == 0)
		set = false;
	else
		return 0;
	q = key_end(k, end);
	if (q == k || q - k > PROTO_KEY_MAX)
		return 0;
	klen = (uint32_t)(q - k);
	if (!set) {
		used = fast_line_end(s, q, end, whole);
		if (used == 0)
			return 0;
		req->cmd = PROTO_CMD_GET;
		req->key.p = k;
		req->key.len = klen;
		req->keys = req->key;
		req->nkeys = 1;
		return used;
	}
	if (!short_field(&q, end, &flags) || !short_field(&q, end, &exptime) ||
	    !short_field(&q, end, &vlen))
		return 0;
	if (end - q >= 8 && memcmp(q, " noreply", 8) == 0) {
		q += 8;
		noreply = true;
	}
	used = fast_line_end(s, q, end, whole);
	if (used == 0)
		return 0;
	req->cmd = PROTO_CMD_SET;
	req->noreply = noreply;
	req->key.p = k;
	req->key.len = klen;
	req->client_flags = flags;
	req->exptime = (int32_t)exptime;
	req->value_len = vlen;
	if (proto_item_too_large(p->cfg.item_size_max, klen, flags, vlen)) {
		fail(req, lr, PROTO_ERR_TOO_LARGE);
		lr->swallow = (uint64_t)vlen + 2;
		return used;
	}
	lr->has_value = true;
	lr->value_len = vlen;
	return used;
}

/* ---- the stream ---- */

/* memcached keeps reading a long line only if it is a multiget. */
static bool multiget_prefix(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] == ' ')
		i++;
	if (i > 100)
		return false;
	return (len - i >= 4 && memcmp(s + i, "get ", 4) == 0) ||
	       (len - i >= 5 && memcmp(s + i, "gets ", 5) == 0);
}

static enum proto_event closed(struct proto_parser *p)
{
	p->state = PROTO_PS_CLOSED;
	p->line_len = 0;
	return PROTO_EV_CLOSE;
}

/*
 * After a line: deliver its value (whole or the first part), or swallow.
 * Inline (every request comes through here; LTO would not, with two callers).
 */
static inline __attribute__((always_inline)) enum proto_event
after_line(struct proto_parser *p, const char *buf, size_t len, size_t *pos,
	   struct proto_request *req, const struct proto_line_result *lr)
{
	size_t avail = len - *pos;
	size_t need;
	bool value_noreply = req->cmd == PROTO_CMD_MS ? false : req->noreply;

	if (lr->ev == PROTO_EV_ERROR) {
		if (lr->swallow > 0) {
			p->swallow_left = lr->swallow;
			p->state = PROTO_PS_SWALLOW;
		}
		return PROTO_EV_ERROR;
	}
	if (!lr->has_value)
		return lr->ev;
	need = (size_t)lr->value_len + 2;
	if (avail >= need) {
		const char *v = buf + *pos;

		*pos += need;
		if (v[lr->value_len] != '\r' || v[lr->value_len + 1] != '\n') {
			req->error = PROTO_ERR_BAD_DATA_CHUNK;
			req->noreply = value_noreply;
			return PROTO_EV_ERROR;
		}
		req->value.p = v;
		req->value.len = lr->value_len;
		return PROTO_EV_REQUEST;
	}
	req->value.p = buf + *pos;
	req->value.len = (uint32_t)(avail < lr->value_len ? avail : lr->value_len);
	req->value_partial = true;
	*pos += req->value.len;
	p->value_left = lr->value_len - req->value.len;
	p->crlf_have = 0;
	p->crlf_bad = false;
	p->value_cmd = req->cmd;
	p->value_noreply = value_noreply;
	p->state = p->value_left > 0 ? PROTO_PS_VALUE : PROTO_PS_VALUE_CRLF;
	return PROTO_EV_REQUEST;
}

/* Find the next complete line; NULL if the input ran out (or the line is too long). */
static const char *next_line(struct proto_parser *p, const char *buf, size_t len, size_t *pos,
			     size_t *line_len, enum proto_event *ev)
{
	const char *s = buf + *pos;
	size_t avail = len - *pos;
	const char *nl = memchr(s, '\n', avail);
	size_t n = nl != NULL ? (size_t)(nl - s) : avail;

	*ev = PROTO_EV_NEED_MORE;
	if (nl != NULL && p->line_len == 0) {
		*pos += n + 1;
		*line_len = n;
		return s;
	}
	if ((size_t)p->line_len + n > p->line_cap) {
		*ev = closed(p);
		return NULL;
	}
	memcpy(p->line + p->line_len, s, n);
	p->line_len += (uint32_t)n;
	if (nl == NULL) {
		*pos = len;
		if (p->line_len > PROTO_LINE_MAX && !multiget_prefix(p->line, p->line_len))
			*ev = closed(p);
		return NULL;
	}
	*pos += n + 1;
	*line_len = p->line_len;
	p->line_len = 0;
	return p->line;
}

static enum proto_event value_crlf(struct proto_parser *p, const char *buf, size_t len, size_t *pos,
				   struct proto_request *req)
{
	while (*pos < len && p->crlf_have < 2) {
		if (buf[*pos] != "\r\n"[p->crlf_have])
			p->crlf_bad = true;
		p->crlf_have++;
		(*pos)++;
	}
	if (p->crlf_have < 2)
		return PROTO_EV_NEED_MORE;
	p->state = PROTO_PS_LINE;
	set_cmd(req, p->value_cmd);
	if (!p->crlf_bad)
		return PROTO_EV_VALUE_END;
	req->error = PROTO_ERR_BAD_DATA_CHUNK;
	req->noreply = p->value_noreply;
	return PROTO_EV_ERROR;
}

enum proto_event proto_parse(struct proto_parser *p, const char *buf, size_t len, size_t *consumed,
			     struct proto_request *req)
{
	enum proto_event ev = PROTO_EV_NEED_MORE;
	size_t pos = 0;

	memset(req, 0, offsetof(struct proto_request, meta)); /* meta: set_cmd */
	for (;;) {
		switch (p->state) {
		case PROTO_PS_CLOSED:
			*consumed = len;
			return PROTO_EV_CLOSE;
		case PROTO_PS_SWALLOW: {
			size_t n = len - pos;

			if (n > p->swallow_left)
				n = (size_t)p->swallow_left;
			pos += n;
			p->swallow_left -= n;
			if (p->swallow_left == 0)
				p->state = PROTO_PS_LINE;
			if (pos == len)
				goto out;
			break;
		}
		case PROTO_PS_VALUE: {
			size_t n = len - pos;

			if (n == 0)
				goto out;
			if (n > p->value_left)
				n = p->value_left;
			set_cmd(req, p->value_cmd);
			req->value.p = buf + pos;
			req->value.len = (uint32_t)n;
			pos += n;
			p->value_left -= (uint32_t)n;
			if (p->value_left == 0)
				p->state = PROTO_PS_VALUE_CRLF;
			ev = PROTO_EV_VALUE;
			goto out;
		}
		case PROTO_PS_VALUE_CRLF:
			ev = value_crlf(p, buf, len, &pos, req);
			goto out;
		case PROTO_PS_LINE: {
			struct proto_line_result lr = {.ev = PROTO_EV_REQUEST};
			const char *line;
			const char *nul;
			size_t n = 0;

			if (pos == len)
				goto out;
			if (p->line_len == 0 &&
			    (n = text_fast(p, buf + pos, len - pos, false, req, &lr)) > 0) {
				pos += n;
				ev = after_line(p, buf, len, &pos, req, &lr);
				goto out;
			}
			line = next_line(p, buf, len, &pos, &n, &ev);
			if (line == NULL)
				goto out;
			if (n > 1 && line[n - 1] == '\r')
				n--;
			if (text_fast(p, line, n, true, req, &lr) == 0) {
				nul = memchr(line, '\0', n); /* memcached sees a C string */
				if (nul != NULL)
					n = (size_t)(nul - line);
				text_line(p, line, n, req, &lr);
			}
			ev = after_line(p, buf, len, &pos, req, &lr);
			goto out;
		}
		}
	}
out:
	*consumed = pos;
	return ev;
}

const char *proto_error_string(enum proto_error err)
{
	static const char *const s[PROTO_ERR__COUNT] = {
	    [PROTO_ERR_NONE] = PS_ERROR,
	    [PROTO_ERR_UNKNOWN_COMMAND] = PS_ERROR,
	    [PROTO_ERR_BAD_FORMAT] = PS_BAD_FORMAT,
	    [PROTO_ERR_BAD_DATA_CHUNK] = PS_BAD_DATA_CHUNK,
	    [PROTO_ERR_TOO_LARGE] = PS_TOO_LARGE,
	    [PROTO_ERR_OUT_OF_MEMORY] = PS_OUT_OF_MEMORY,
	    [PROTO_ERR_BAD_EXPTIME] = PS_BAD_EXPTIME,
	    [PROTO_ERR_BAD_DELTA] = PS_BAD_DELTA,
	    [PROTO_ERR_DELETE_USAGE] = PS_DELETE_USAGE,
	    [PROTO_ERR_NON_NUMERIC] = PS_NON_NUMERIC,
	    [PROTO_ERR_META_DUP_FLAG] = PS_META_DUP_FLAG,
	    [PROTO_ERR_META_INVALID_FLAG] = PS_META_INVALID_FLAG,
	    [PROTO_ERR_META_INVALID_OR_DUP] = PS_META_INVALID_OR_DUP,
	    [PROTO_ERR_META_BAD_TOKEN] = PS_META_BAD_TOKEN,
	    [PROTO_ERR_META_KEY_DECODE] = PS_META_KEY_DECODE,
	    [PROTO_ERR_META_TOO_MANY_FLAGS] = PS_META_TOO_MANY_FLAGS,
	    [PROTO_ERR_META_TOO_MANY_FLAGS2] = PS_META_TOO_MANY_FLAGS2,
	    [PROTO_ERR_META_OPAQUE_TOO_LONG] = PS_META_OPAQUE_TOO_LONG,
	    [PROTO_ERR_META_BAD_M_LENGTH] = PS_META_BAD_M_LENGTH,
	    [PROTO_ERR_META_BAD_MS_MODE] = PS_META_BAD_MS_MODE,
	    [PROTO_ERR_META_BAD_MA_MODE] = PS_META_BAD_MA_MODE,
	    [PROTO_ERR_META_BAD_INITIAL] = PS_META_BAD_INITIAL,
	    [PROTO_ERR_META_BAD_DELTA] = PS_META_BAD_DELTA,
	    [PROTO_ERR_UDP_DENIED] = PS_UDP_DENIED,
	};

	if ((unsigned)err >= PROTO_ERR__COUNT)
		return PS_ERROR;
	return s[err];
}

const char *proto_cmd_name(enum proto_cmd cmd)
{
	static const char *const s[PROTO_CMD__COUNT] = {
	    [PROTO_CMD_NONE] = "",
	    [PROTO_CMD_GET] = "get",
	    [PROTO_CMD_GETS] = "gets",
	    [PROTO_CMD_GAT] = "gat",
	    [PROTO_CMD_GATS] = "gats",
	    [PROTO_CMD_SET] = "set",
	    [PROTO_CMD_ADD] = "add",
	    [PROTO_CMD_REPLACE] = "replace",
	    [PROTO_CMD_APPEND] = "append",
	    [PROTO_CMD_PREPEND] = "prepend",
	    [PROTO_CMD_CAS] = "cas",
	    [PROTO_CMD_DELETE] = "delete",
	    [PROTO_CMD_INCR] = "incr",
	    [PROTO_CMD_DECR] = "decr",
	    [PROTO_CMD_TOUCH] = "touch",
	    [PROTO_CMD_FLUSH_ALL] = "flush_all",
	    [PROTO_CMD_VERSION] = "version",
	    [PROTO_CMD_VERBOSITY] = "verbosity",
	    [PROTO_CMD_QUIT] = "quit",
	    [PROTO_CMD_STATS] = "stats",
	    [PROTO_CMD_SHUTDOWN] = "shutdown",
	    [PROTO_CMD_MG] = "mg",
	    [PROTO_CMD_MS] = "ms",
	    [PROTO_CMD_MD] = "md",
	    [PROTO_CMD_MA] = "ma",
	    [PROTO_CMD_MN] = "mn",
	    [PROTO_CMD_ME] = "me",
	};

	if ((unsigned)cmd >= PROTO_CMD__COUNT)
		return "";
	return s[cmd];
}
