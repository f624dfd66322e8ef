/*
 * libFuzzer target: memcached text+meta requests through the streaming
 * parser and the composer.
 *
 * Input: 2 control bytes, then the request stream. The first byte picks the
 * config (UDP policy, a small item size limit); the second seeds where the
 * stream is cut into inputs. Checked beyond "no crash, no sanitizer report":
 *  - every span an event hands out lies inside the input of that call (or the
 *    parser's own buffers), and partial values add up to value_len;
 *  - the transcript of the stream fed whole equals the transcript fed in
 *    pieces (unless a line-length limit closed one of them, which depends on
 *    segmentation by design, as in memcached);
 *  - composing a reply for each request fits and never overruns.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/proto.h"
#include "test_proto_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char line_buf[PROTO_LINE_BUF_DEFAULT];

static int inside(const char *p, size_t n, const char *base, size_t len)
{
	return n == 0 || (p >= base && p + n <= base + len);
}

static int span_ok(const struct proto_parser *ps, struct proto_span s, const char *in, size_t len)
{
	return inside(s.p, s.len, in, len) || inside(s.p, s.len, ps->line, ps->line_cap) ||
	       inside(s.p, s.len, ps->keybuf, sizeof(ps->keybuf));
}

static void compose_for(const struct proto_request *r)
{
	static char buf[2048];
	static struct iovec iov[16];
	struct proto_out o;
	static const struct proto_meta no_meta;
	/* the parser writes the meta fields for the meta commands only */
	const struct proto_meta *m =
	    r->cmd >= PROTO_CMD_MG && r->cmd <= PROTO_CMD_ME ? &r->meta : &no_meta;
	struct proto_meta_item it = {.key = r->key,
				     .key_binary = m->key_binary,
				     .value = r->value.p,
				     .value_len = r->value.len,
				     .cas = r->cas,
				     .ttl = -1,
				     .ttl_new = m->ttl,
				     .ttl_changed = PROTO_META_HAS(m, 'T'),
				     .win = true,
				     .stale = true,
				     .win_sent = true};

	proto_out_init(&o, buf, sizeof(buf), iov, 16);
	if (r->cmd >= PROTO_CMD_MG && r->cmd <= PROTO_CMD_MA) {
		proto_compose_meta(&o, r, PROTO_META_VA, &it);
		proto_compose_meta(&o, r, PROTO_META_EN, NULL);
		proto_compose_meta(&o, r, PROTO_META_EX, &it);
	} else if (r->nkeys > 0) {
		struct proto_span k;
		uint32_t pos = 0;

		while (proto_key_next(r, &pos, &k))
			proto_compose_value(&o, k, r->client_flags, "v", 1, true, r->cas);
		proto_compose_reply(&o, r, PROTO_R_END);
	} else {
		proto_compose_reply(&o, r, PROTO_R_STORED);
		proto_compose_number(&o, r, r->delta);
	}
	if (o.error == 0 && o.used > o.cap)
		abort();
}

/* Feed in pieces and check every event's spans. */
static void feed(const struct proto_config *cfg, const char *in, size_t len, uint32_t seed)
{
	struct proto_parser p;
	size_t pos = 0;
	uint64_t value_left = 0;

	proto_parser_init(&p, cfg, line_buf, sizeof(line_buf));
	while (pos < len) {
		size_t n = 1 + (seed % 97);
		size_t off = 0;

		seed = seed * 1103515245u + 12345u;
		if (n > len - pos)
			n = len - pos;
		for (;;) {
			struct proto_request r;
			size_t used = 0;
			enum proto_event ev = proto_parse(&p, in + pos + off, n - off, &used, &r);

			if (used > n - off)
				abort();
			if (ev == PROTO_EV_CLOSE)
				return;
			if (ev != PROTO_EV_NEED_MORE &&
			    (!span_ok(&p, r.key, in + pos + off, used) ||
			     !span_ok(&p, r.keys, in + pos + off, used) ||
			     !span_ok(&p, r.args, in + pos + off, used) ||
			     !inside(r.value.p, r.value.len, in + pos + off, used)))
				abort();
			off += used;
			if (ev == PROTO_EV_NEED_MORE) {
				if (off != n)
					abort();
				break;
			}
			if (ev == PROTO_EV_REQUEST) {
				if (r.value_partial)
					value_left = r.value_len - r.value.len;
				else if (r.value.len != r.value_len)
					abort();
				compose_for(&r);
			} else if (ev == PROTO_EV_VALUE) {
				if (r.value.len > value_left)
					abort();
				value_left -= r.value.len;
			} else if (ev == PROTO_EV_VALUE_END && value_left != 0) {
				abort();
			}
		}
		pos += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_config cfg = {0};
	const char *in;
	size_t len, cuts[8], ncuts = 0, i;
	char *whole, *split;
	uint32_t seed;

	if (size < 2)
		return 0;
	cfg.udp = (data[0] & 1) != 0;
	cfg.item_size_max = (data[0] & 2) ? 200 : 0;
	if (data[0] & 4)
		cfg.udp_allow = ~UINT64_C(0);
	seed = data[1];
	in = (const char *)data + 2;
	len = size - 2;

	feed(&cfg, in, len, seed);

	/* whole versus cut at up to 8 places */
	for (i = 0; i < 8 && len > 1; i++) {
		size_t c = (seed * 2654435761u + i * 40503u) % len;

		if (c == 0 || (ncuts > 0 && c <= cuts[ncuts - 1]))
			continue;
		cuts[ncuts++] = c;
	}
	whole = proto_transcript(&cfg, in, len, NULL, 0);
	split = proto_transcript(&cfg, in, len, cuts, ncuts);
	if (strstr(whole, "CLOSE") == NULL && strstr(split, "CLOSE") == NULL &&
	    strcmp(whole, split) != 0)
		abort();
	free(whole);
	free(split);
	return 0;
}
