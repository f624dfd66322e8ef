/*
 * Replies (response -> bytes, each form memcached 1.6.18 sends) and the UDP
 * frame: header parsing and the reply splitter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_tap.h"
#include "dpcache/proto.h"
#include "dpcache/proto_udp.h"

static char buf[4096];
static struct iovec iov[64];
static struct proto_out out;
static char flat[8192];
static char line[PROTO_LINE_BUF_DEFAULT];

static void reset(void)
{
	proto_out_init(&out, buf, sizeof(buf), iov, 64);
}

/* The reply so far, flattened, compared with `want`; then start over. */
static void expect(const char *want, int line_no)
{
	long n = proto_out_flatten(&out, flat, sizeof(flat) - 1);

	CU_ASSERT_EQUAL(out.error, 0);
	CU_ASSERT_EQUAL(n, (long)strlen(want));
	if (n >= 0) {
		flat[n] = '\0';
		if (strcmp(flat, want) != 0)
			printf("# line %d: expected '%s'\n# got '%s'\n", line_no, want ? want : "",
			       flat);
		CU_ASSERT_STRING_EQUAL(flat, want);
	}
	reset();
}

#define EXPECT(want) expect(want, __LINE__)

/* Parse one request line (for its flags), as the executor would get it. */
static struct proto_request parse1(const char *s)
{
	static struct proto_parser p;
	struct proto_request r;
	size_t used;

	proto_parser_init(&p, NULL, line, sizeof(line));
	CU_ASSERT_EQUAL(proto_parse(&p, s, strlen(s), &used, &r), PROTO_EV_REQUEST);
	return r;
}

static struct proto_span span(const char *s)
{
	struct proto_span sp = {s, (uint32_t)strlen(s)};

	return sp;
}

static void test_text_replies(void)
{
	struct proto_request r = parse1("set a 0 0 1\r\nx\r\n");
	struct proto_request nr = parse1("set a 0 0 1 noreply\r\nx\r\n");
	static const char *const lines[] = {"STORED\r\n",    "NOT_STORED\r\n", "EXISTS\r\n",
					    "NOT_FOUND\r\n", "DELETED\r\n",    "TOUCHED\r\n",
					    "OK\r\n",	     "RESET\r\n",      "END\r\n",
					    "MN\r\n",	     "EN\r\n"};
	int i;

	reset();
	for (i = 0; i < PROTO_R__COUNT; i++) {
		proto_compose_reply(&out, &r, i);
		EXPECT(lines[i]);
		proto_compose_reply(&out, &nr, i);
		EXPECT("");
		proto_compose_reply(&out, NULL, i);
		EXPECT(lines[i]);
	}
	CU_ASSERT_EQUAL(proto_compose_reply(&out, NULL, PROTO_R__COUNT), -EINVAL);
	proto_compose_number(&out, &r, 18446744073709551615ULL);
	EXPECT("18446744073709551615\r\n");
	proto_compose_number(&out, &r, 0);
	EXPECT("0\r\n");
	proto_compose_number(&out, &nr, 5);
	EXPECT("");
	proto_compose_version(&out, "1.6.18");
	EXPECT("VERSION 1.6.18\r\n");
	proto_compose_stat(&out, "pid", "42");
	proto_compose_reply(&out, NULL, PROTO_R_END);
	EXPECT("STAT pid 42\r\nEND\r\n");
	proto_compose_line(&out, "SERVER_ERROR out of memory");
	EXPECT("SERVER_ERROR out of memory\r\n");
}

static void test_value(void)
{
	static const char value[] = "hello";

	reset();
	proto_compose_value(&out, span("foo"), 5, value, 5, false, 0);
	proto_compose_value(&out, span("bar"), 4294967295u, value, 0, true,
			    18446744073709551615ULL);
	proto_compose_reply(&out, NULL, PROTO_R_END);
	/* the value is referenced, not copied */
	CU_ASSERT_PTR_EQUAL(iov[1].iov_base, value);
	CU_ASSERT_EQUAL(iov[1].iov_len, 5);
	EXPECT(
	    "VALUE foo 5 5\r\nhello\r\nVALUE bar 4294967295 0 18446744073709551615\r\n\r\nEND\r\n");
}

static void test_errors(void)
{
	struct proto_request r;
	static const struct {
		enum proto_error e;
		const char *s;
	} all[] = {
	    {PROTO_ERR_UNKNOWN_COMMAND, "ERROR\r\n"},
	    {PROTO_ERR_BAD_FORMAT, "CLIENT_ERROR bad command line format\r\n"},
	    {PROTO_ERR_BAD_DATA_CHUNK, "CLIENT_ERROR bad data chunk\r\n"},
	    {PROTO_ERR_TOO_LARGE, "SERVER_ERROR object too large for cache\r\n"},
	    {PROTO_ERR_OUT_OF_MEMORY, "SERVER_ERROR out of memory storing object\r\n"},
	    {PROTO_ERR_BAD_EXPTIME, "CLIENT_ERROR invalid exptime argument\r\n"},
	    {PROTO_ERR_BAD_DELTA, "CLIENT_ERROR invalid numeric delta argument\r\n"},
	    {PROTO_ERR_DELETE_USAGE,
	     "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"},
	    {PROTO_ERR_NON_NUMERIC,
	     "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
	    {PROTO_ERR_META_DUP_FLAG, "CLIENT_ERROR duplicate flag\r\n"},
	    {PROTO_ERR_META_INVALID_FLAG, "CLIENT_ERROR invalid flag\r\n"},
	    {PROTO_ERR_META_INVALID_OR_DUP, "CLIENT_ERROR invalid or duplicate flag\r\n"},
	    {PROTO_ERR_META_BAD_TOKEN, "CLIENT_ERROR bad token in command line format\r\n"},
	    {PROTO_ERR_META_KEY_DECODE, "CLIENT_ERROR error decoding key\r\n"},
	    {PROTO_ERR_META_TOO_MANY_FLAGS, "CLIENT_ERROR options flags are too long\r\n"},
	    {PROTO_ERR_META_TOO_MANY_FLAGS2, "CLIENT_ERROR options flags too long\r\n"},
	    {PROTO_ERR_META_OPAQUE_TOO_LONG, "CLIENT_ERROR opaque token too long\r\n"},
	    {PROTO_ERR_META_BAD_M_LENGTH, "CLIENT_ERROR incorrect length for M token\r\n"},
	    {PROTO_ERR_META_BAD_MS_MODE, "CLIENT_ERROR invalid mode for ms M token\r\n"},
	    {PROTO_ERR_META_BAD_MA_MODE, "CLIENT_ERROR invalid mode for ma M token\r\n"},
	    {PROTO_ERR_META_BAD_INITIAL, "CLIENT_ERROR invalid numeric initial value\r\n"},
	    {PROTO_ERR_META_BAD_DELTA, "CLIENT_ERROR invalid numeric delta value\r\n"},
	    {PROTO_ERR_UDP_DENIED, "CLIENT_ERROR command not allowed over UDP\r\n"},
	};
	size_t i;

	reset();
	CU_ASSERT_EQUAL(sizeof(all) / sizeof(all[0]), PROTO_ERR__COUNT - 1);
	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		r.error = all[i].e;
		r.noreply = false;
		proto_compose_error(&out, &r);
		EXPECT(all[i].s);
		r.noreply = true;
		proto_compose_error(&out, &r);
		EXPECT("");
		proto_compose_error_code(&out, all[i].e);
		EXPECT(all[i].s);
	}
}

static void test_meta_get(void)
{
	struct proto_request r = parse1("mg foo s v t f c h l k O123 T30\r\n");
	struct proto_meta_item it = {
	    .key = span("foo"),
	    .value = "hello",
	    .value_len = 5,
	    .client_flags = 7,
	    .cas = 99,
	    .ttl = -1,
	    .ttl_new = 30,
	    .ttl_changed = true,
	    .last_access = 12,
	    .fetched = true,
	};

	reset();
	proto_compose_meta(&out, &r, PROTO_META_VA, &it);
	EXPECT("VA 5 s5 t-1 f7 c99 h1 l12 kfoo O123\r\nhello\r\n");
	r = parse1("mg foo T30 t\r\n");
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("HD t30\r\n");
	/* N only counts when it created the item: a hit shows the old TTL before T */
	r = parse1("mg foo N30 t T50\r\n");
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("HD t-1\r\n");
	it.created = true;
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("HD t30\r\n");
	it.created = false;
	/* leases: Z, then X, then W, after the requested flags */
	r = parse1("mg foo c N30\r\n");
	it.win = true;
	it.ttl_changed = false;
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("HD c99 W\r\n");
	it.win = false;
	it.win_sent = true;
	it.stale = true;
	proto_compose_meta(&out, &r, PROTO_META_VA, &it);
	EXPECT("VA 5 c99 Z X\r\nhello\r\n");
	/* misses: EN with O and k only; q hides EN but not hits */
	r = parse1("mg foo k v O9 s\r\n");
	proto_compose_meta(&out, &r, PROTO_META_EN, NULL);
	EXPECT("EN kfoo O9\r\n");
	r = parse1("mg foo k q\r\n");
	proto_compose_meta(&out, &r, PROTO_META_EN, NULL);
	EXPECT("");
	it.win_sent = it.stale = false;
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("HD kfoo\r\n");
	/* a binary key comes back base64, with b */
	r = parse1("mg YWJj b k v\r\n");
	proto_compose_meta(&out, &r, PROTO_META_EN, NULL);
	EXPECT("EN kYWJj b\r\n");
	it.key = span("abc");
	it.key_binary = true;
	proto_compose_meta(&out, &r, PROTO_META_VA, &it);
	EXPECT("VA 5 kYWJj b\r\nhello\r\n");
}

static void test_meta_set_delete_arith(void)
{
	struct proto_request r = parse1("ms foo 2 c k O1 T5 F3\r\nhi\r\n");
	struct proto_meta_item it = {.key = span("foo"), .cas = 31, .ttl = -1};

	reset();
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("HD c31 kfoo O1\r\n");
	it.cas = 0;
	proto_compose_meta(&out, &r, PROTO_META_EX, &it);
	EXPECT("EX c0 kfoo O1\r\n");
	proto_compose_meta(&out, &r, PROTO_META_NS, &it);
	EXPECT("NS c0 kfoo O1\r\n");
	proto_compose_meta(&out, &r, PROTO_META_NF, &it);
	EXPECT("NF c0 kfoo O1\r\n");
	r = parse1("ms foo 2 q\r\nhi\r\n");
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("");
	proto_compose_meta(&out, &r, PROTO_META_NS, &it);
	EXPECT("NS\r\n");
	r = parse1("md foo k O1 q\r\n");
	proto_compose_meta(&out, &r, PROTO_META_HD, NULL);
	EXPECT("");
	proto_compose_meta(&out, &r, PROTO_META_NF, NULL);
	EXPECT("NF kfoo O1\r\n");
	r = parse1("md foo C5\r\n");
	proto_compose_meta(&out, &r, PROTO_META_EX, NULL);
	EXPECT("EX\r\n");
	proto_compose_meta(&out, &r, PROTO_META_HD, NULL);
	EXPECT("HD\r\n");
	/* ma: c and t with an item; v makes it VA with the number */
	r = parse1("ma foo k O1 t c v N0\r\n");
	it.value = "11";
	it.value_len = 2;
	it.cas = 30;
	proto_compose_meta(&out, &r, PROTO_META_VA, &it);
	EXPECT("VA 2 kfoo O1 t-1 c30\r\n11\r\n");
	proto_compose_meta(&out, &r, PROTO_META_NF, NULL);
	EXPECT("NF kfoo O1\r\n");
	r = parse1("ma foo q\r\n");
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("");
	it.created = true;
	proto_compose_meta(&out, &r, PROTO_META_HD, &it);
	EXPECT("HD\r\n");
	proto_compose_meta(&out, &r, PROTO_META_EX, NULL);
	EXPECT("EX\r\n");
	CU_ASSERT_EQUAL(proto_compose_meta(&out, &r, 42, NULL), -EINVAL);
}

static void test_meta_debug(void)
{
	struct proto_me_info info = {.key = span("foo"),
				     .exp = -1,
				     .la = 3,
				     .cas = 24,
				     .fetched = true,
				     .cls = 2,
				     .size = 120};

	reset();
	proto_compose_me(&out, &info);
	EXPECT("ME foo exp=-1 la=3 cas=24 fetch=yes cls=2 size=120\r\n");
	info.key = span("abc");
	info.key_binary = true;
	info.fetched = false;
	proto_compose_me(&out, &info);
	EXPECT("ME YWJj exp=-1 la=3 cas=24 fetch=no cls=2 size=120\r\n");
}

static void test_out_limits(void)
{
	char small[8];
	struct iovec one[1];
	long n;

	proto_out_init(&out, small, sizeof(small), one, 1);
	CU_ASSERT_EQUAL(proto_compose_reply(&out, NULL, PROTO_R_STORED), 0);
	CU_ASSERT_EQUAL(proto_compose_reply(&out, NULL, PROTO_R_STORED), -ENOSPC);
	/* sticky: later writes fail too */
	CU_ASSERT_EQUAL(proto_out_copy(&out, "x", 1), -ENOSPC);
	proto_out_init(&out, small, sizeof(small), one, 1);
	CU_ASSERT_EQUAL(proto_out_copy(&out, "ab", 2), 0);
	CU_ASSERT_EQUAL(proto_out_copy(&out, "cd", 2), 0); /* same iovec */
	CU_ASSERT_EQUAL(out.iov_cnt, 1);
	CU_ASSERT_EQUAL(proto_out_ref(&out, "ef", 2), -ENOSPC);
	proto_out_init(&out, small, sizeof(small), one, 1);
	proto_out_ref(&out, "0123456789", 10);
	CU_ASSERT_EQUAL(proto_out_flatten(&out, small, 4), -ENOSPC);
	n = proto_out_flatten(&out, flat, sizeof(flat));
	CU_ASSERT_EQUAL(n, 10);
	reset();
}

/* The store can copy a value straight into the reply, and a retry rewinds. */
static void test_out_reserve(void)
{
	struct proto_out_mark m;
	char *v;

	reset();
	proto_compose_line(&out, "VALUE k 0 5");
	proto_out_mark(&out, &m);
	v = proto_out_reserve(&out, 5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	memcpy(v, "XXXXX", 5);
	proto_out_rewind(&out, &m); /* the optimistic read raced a writer: again */
	v = proto_out_reserve(&out, 5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	memcpy(v, "hello", 5);
	proto_compose_line(&out, "");
	CU_ASSERT_EQUAL(out.iov_cnt, 1); /* all in one iovec */
	EXPECT("VALUE k 0 5\r\nhello\r\n");
	proto_out_mark(&out, &m);
	CU_ASSERT_PTR_NULL(proto_out_reserve(&out, sizeof(buf) + 1));
	CU_ASSERT_EQUAL(out.error, -ENOSPC);
	proto_out_rewind(&out, &m);
	CU_ASSERT_EQUAL(out.error, 0);
	CU_ASSERT_PTR_NULL(proto_out_reserve(&out, 0));
	reset();
}

/* A segmented reply: 7-byte segments, as a transport's packet buffers. */
static char seg_mem[16][7];
static unsigned seg_used[16], seg_n, seg_fail_at;

static int seg_next_7(struct proto_out *o)
{
	if (o->seg > 0)
		seg_used[o->seg - 1] = (unsigned)o->used;
	if (seg_n + 1 == seg_fail_at || seg_n == 16)
		return -ENOBUFS;
	o->buf = seg_mem[seg_n++];
	o->cap = sizeof(seg_mem[0]);
	return 0;
}

static void seg_back_7(struct proto_out *o, unsigned seg)
{
	seg_n = seg;
	o->buf = seg > 0 ? seg_mem[seg - 1] : NULL;
	o->cap = seg > 0 ? sizeof(seg_mem[0]) : 0;
}

static size_t seg_flat(const struct proto_out *o, char *dst)
{
	size_t n = 0;

	for (unsigned i = 0; i < seg_n; i++) {
		unsigned u = i + 1 == o->seg ? (unsigned)o->used : seg_used[i];

		memcpy(dst + n, seg_mem[i], u);
		n += u;
	}
	return n;
}

static void test_out_segmented(void)
{
	static const struct proto_out_segments ops = {seg_next_7, seg_back_7, NULL};
	struct proto_out so;
	struct proto_out_mark m;
	char flat[128];
	size_t n;

	seg_n = 0;
	seg_fail_at = 0;
	proto_out_init_segmented(&so, &ops);
	CU_ASSERT_FALSE(proto_out_paused(&so));
	proto_compose_value(&so, span("key"), 1, "0123456789", 10, false, 0);
	proto_out_mark(&so, &m);
	proto_compose_value(&so, span("k2"), 0, "XXXXXXXXXXXXXXXX", 16, false, 0);
	proto_out_rewind(&so, &m); /* a retry across segments goes back */
	proto_compose_value_line(&so, span("k2"), 0, 3, false, 0);
	CU_ASSERT_EQUAL(proto_out_copy(&so, "abc", 3), 0);
	proto_compose_line(&so, "");
	proto_compose_reply(&so, NULL, PROTO_R_END);
	CU_ASSERT_EQUAL(so.error, 0);
	n = seg_flat(&so, flat);
	CU_ASSERT_EQUAL(n, so.total);
	CU_ASSERT(n == 52 && memcmp(flat, "VALUE key 1 10\r\n0123456789\r\nVALUE k2 0 3\r\nabc\r\nEND\r\n", n) == 0);
	CU_ASSERT(seg_n > 1);
	CU_ASSERT_EQUAL(proto_out_flatten(&so, flat, sizeof(flat)), -ENOTSUP);
	CU_ASSERT_PTR_NOT_NULL(proto_out_reserve(&so, 7)); /* within one segment */
	CU_ASSERT_PTR_NULL(proto_out_reserve(&so, 8));
	/* The soft limit, and a transport out of buffers. */
	seg_n = 0;
	seg_fail_at = 3;
	proto_out_init_segmented(&so, &ops);
	so.limit = 12;
	proto_compose_line(&so, "123456789");
	CU_ASSERT_FALSE(proto_out_paused(&so));
	proto_compose_line(&so, "x");
	CU_ASSERT_TRUE(proto_out_paused(&so));
	CU_ASSERT_EQUAL(proto_compose_line(&so, "too much"), -ENOBUFS);
	CU_ASSERT_EQUAL(so.error, -ENOBUFS);
}

/* Header-only forms, for values the caller copies in itself. */
static void test_lines_only(void)
{
	struct proto_request r = parse1("mg foo v q\r\n");
	struct proto_meta_item it = {.key = span("foo"), .value_len = 3};

	reset();
	CU_ASSERT_EQUAL(proto_compose_meta_line(&out, &r, PROTO_META_EN, NULL), 1);
	CU_ASSERT_EQUAL(proto_compose_meta_line(&out, &r, PROTO_META_VA, &it), 0);
	EXPECT("VA 3\r\n");
	proto_compose_value_line(&out, span("foo"), 1, 3, true, 7);
	EXPECT("VALUE foo 1 3 7\r\n");
}

static void test_udp_parse(void)
{
	const uint8_t ok[] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 'g', 'e', 't', ' ', 'a', '\r', '\n'};
	const uint8_t multi[] = {0, 1, 0, 0, 0, 2, 0, 0, 'x'};
	const uint8_t seq[] = {0, 1, 0, 1, 0, 1, 0, 0};
	struct proto_udp_hdr h;
	const char *payload;
	size_t plen;

	CU_ASSERT_EQUAL(proto_udp_parse(ok, sizeof(ok), &h, &payload, &plen), 0);
	CU_ASSERT_EQUAL(h.req_id, 0x1234);
	CU_ASSERT_EQUAL(h.seq, 0);
	CU_ASSERT_EQUAL(h.count, 1);
	CU_ASSERT_PTR_EQUAL(payload, (const char *)ok + 8);
	CU_ASSERT_EQUAL(plen, 7);
	CU_ASSERT_EQUAL(proto_udp_parse(ok, 7, &h, &payload, &plen), -EINVAL);
	CU_ASSERT_EQUAL(proto_udp_parse(ok, 8, &h, &payload, &plen), 0);
	CU_ASSERT_EQUAL(plen, 0);
	CU_ASSERT_EQUAL(proto_udp_parse(multi, sizeof(multi), &h, &payload, &plen), -EMSGSIZE);
	CU_ASSERT_EQUAL(proto_udp_parse(seq, sizeof(seq), &h, &payload, &plen), -EMSGSIZE);
}

static void test_udp_split(void)
{
	static char a[1000], b[2000], c[3];
	struct iovec in[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
	struct proto_udp_splitter s;
	struct iovec piece[4];
	uint8_t hdr[PROTO_UDP_HDR_LEN];
	unsigned cnt;
	long n;

	CU_ASSERT_EQUAL(proto_udp_split_init(&s, 0xbeef, in, 3, 3003, 0), 3);
	n = proto_udp_split_next(&s, hdr, piece, 4, &cnt);
	CU_ASSERT_EQUAL(n, 1400);
	CU_ASSERT_EQUAL(cnt, 2);
	CU_ASSERT_PTR_EQUAL(piece[0].iov_base, a);
	CU_ASSERT_EQUAL(piece[0].iov_len, 1000);
	CU_ASSERT_PTR_EQUAL(piece[1].iov_base, b);
	CU_ASSERT_EQUAL(piece[1].iov_len, 400);
	CU_ASSERT_EQUAL(memcmp(hdr, "\xbe\xef\x00\x00\x00\x03\x00\x00", 8), 0);
	/* too few spans: nothing consumed, retry works */
	CU_ASSERT_EQUAL(proto_udp_split_next(&s, hdr, piece, 0, &cnt), -ENOSPC);
	n = proto_udp_split_next(&s, hdr, piece, 4, &cnt);
	CU_ASSERT_EQUAL(n, 1400);
	CU_ASSERT_EQUAL(cnt, 1);
	CU_ASSERT_PTR_EQUAL(piece[0].iov_base, b + 400);
	CU_ASSERT_EQUAL(memcmp(hdr, "\xbe\xef\x00\x01\x00\x03\x00\x00", 8), 0);
	n = proto_udp_split_next(&s, hdr, piece, 4, &cnt);
	CU_ASSERT_EQUAL(n, 203);
	CU_ASSERT_EQUAL(cnt, 2);
	CU_ASSERT_EQUAL(piece[0].iov_len, 200);
	CU_ASSERT_PTR_EQUAL(piece[1].iov_base, c);
	CU_ASSERT_EQUAL(memcmp(hdr, "\xbe\xef\x00\x02\x00\x03\x00\x00", 8), 0);
	CU_ASSERT_EQUAL(proto_udp_split_next(&s, hdr, piece, 4, &cnt), 0);
	/* exact multiples, a small custom size, and the 16-bit count limit */
	CU_ASSERT_EQUAL(proto_udp_split_init(&s, 1, in, 3, 2800, 0), 2);
	CU_ASSERT_EQUAL(proto_udp_split_init(&s, 1, in, 3, 3003, 1000), 4);
	CU_ASSERT_EQUAL(proto_udp_split_init(&s, 1, in, 3, 1400 * 65535, 0), 65535);
	CU_ASSERT_EQUAL(proto_udp_split_init(&s, 1, in, 3, 1400 * 65535 + 1, 0), -EMSGSIZE);
	CU_ASSERT_EQUAL(proto_udp_split_init(&s, 1, in, 3, 0, 0), 1);
}

static const struct cunit_test tests[] = {
    {"text_replies", test_text_replies},
    {"value", test_value},
    {"errors", test_errors},
    {"meta_get", test_meta_get},
    {"meta_set_delete_arith", test_meta_set_delete_arith},
    {"meta_debug", test_meta_debug},
    {"out_limits", test_out_limits},
    {"out_reserve", test_out_reserve},
    {"out_segmented", test_out_segmented},
    {"lines_only", test_lines_only},
    {"udp_parse", test_udp_parse},
    {"udp_split", test_udp_split},
    {NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("proto_compose", NULL, NULL, tests) != 0)
		return 1;
	return cunit_tap_run();
}
