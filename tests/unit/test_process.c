/*
 * The executor against golden transcripts: request bytes in, reply bytes out,
 * over a fresh store at a fixed time, for the store semantics where dpcache
 * once differed from memcached 1.6.18 (leases and gat, the fetched bit,
 * incr/decr, ms modes, binary keys, T with N). Each reply is memcached's with
 * CAS values as a fresh one-partition store numbers them (1, 2, ...). Every
 * transcript runs whole and cut in two at every byte, as segments arrive.
 * tests/integration/proto_diff checks the same cases against a live
 * memcached; this suite holds them without one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_tap.h"
#include "process/process.h"

#define T0	1700000000u
#define OUT_CAP (64u << 10)

struct transcript {
	const char *group; /* the test it belongs to */
	const char *name;
	const char *in;
	size_t in_len; /* 0: strlen(in) */
	const char *out;
};

static const struct transcript transcripts[] = {
    /* gat/gats take no lease: the stale item's win is the next mg's */
    {"lease", "gat_no_win", "set a 0 0 1\r\nx\r\nmd a I\r\ngat 100 a\r\nmg a\r\nmg a\r\n", 0,
     "STORED\r\nHD\r\nVALUE a 0 1\r\nx\r\nEND\r\nHD X W\r\nHD Z X\r\n"},
    {"lease", "gats_no_win", "set a 0 0 1\r\nx\r\nmd a I\r\ngats 100 a\r\nmg a c t\r\n", 0,
     "STORED\r\nHD\r\nVALUE a 0 1 2\r\nx\r\nEND\r\nHD c2 t100 X W\r\n"},
    /* h: the item mg N creates is fetched after that mg, unless u */
    {"fetched", "vivify_fetched", "mg a N30 h\r\nmg a N30 h\r\nmg a h\r\n", 0,
     "HD h0 W\r\nHD h1 Z\r\nHD h1 Z\r\n"},
    {"fetched", "vivify_no_bump", "mg a N30 h u\r\nmg a h\r\n", 0, "HD h0 W\r\nHD h0 Z\r\n"},
    /* incr is no read; a longer number is a new, unfetched item */
    {"fetched", "incr_not_a_read", "set a 0 0 1\r\n5\r\nincr a 1\r\nmg a h\r\nmg a h\r\n", 0,
     "STORED\r\n6\r\nHD h0\r\nHD h1\r\n"},
    {"fetched", "incr_grown_unfetched", "set a 0 0 1\r\n9\r\nmg a\r\nincr a 1\r\nmg a h\r\n", 0,
     "STORED\r\nHD\r\n10\r\nHD h0\r\n"},
    {"fetched", "incr_in_place_fetched", "set a 0 0 2\r\n10\r\nmg a\r\ndecr a 1\r\nmg a h v\r\n", 0,
     "STORED\r\nHD\r\n9\r\nVA 2 h1\r\n9 \r\n"},
    /* in place the item stays stale; a longer number is a fresh item */
    {"fresh", "incr_stale_in_place",
     "set a 0 0 2\r\n10\r\nmd a I\r\nincr a 1\r\nmg a h\r\nmg a\r\n", 0,
     "STORED\r\nHD\r\n11\r\nHD h0 X W\r\nHD Z X\r\n"},
    {"fresh", "incr_stale_grown", "set a 0 0 1\r\n9\r\nmd a I\r\nincr a 1\r\nmg a h\r\n", 0,
     "STORED\r\nHD\r\n10\r\nHD h0\r\n"},
    {"fresh", "append_stale_fresh",
     "set a 0 0 1\r\n9\r\nmd a I\r\nappend a 0 0 1\r\n1\r\nmg a h v\r\n", 0,
     "STORED\r\nHD\r\nSTORED\r\nVA 2 h0\r\n91\r\n"},
    /* the read that wins reports h and l from before its own bump */
    {"lease", "win_reports_first_read", "set a 0 0 1\r\nx\r\nmd a I\r\nmg a h l t\r\nmg a h\r\n", 0,
     "STORED\r\nHD\r\nHD h0 l0 t-1 X W\r\nHD h1 Z X\r\n"},
    /* T and N on a created item: the later flag's TTL; t as it stood at its place */
    {"ttl", "mg_T_t_N", "mg a T50 t N30\r\nmg a t\r\n", 0, "HD t50 W\r\nHD t30 Z\r\n"},
    {"ttl", "mg_N_T_t", "mg a N30 T50 t\r\nmg a t\r\n", 0, "HD t50 W\r\nHD t50 Z\r\n"},
    {"ttl", "ma_N_t_T", "ma a N30 t T50\r\nmg a t\r\n", 0, "HD t30\r\nHD t50\r\n"},
    {"ttl", "ma_t_N_T", "ma a t N30 T50\r\nmg a t\r\n", 0, "HD t-1\r\nHD t50\r\n"},
    {"ttl", "ma_t_before_T", "set a 0 100 1\r\n1\r\nma a t T50\r\nmg a t\r\n", 0,
     "STORED\r\nHD t100\r\nHD t50\r\n"},
    /* incr reads the value as strtoull does */
    {"number", "incr_digits_then_space", "set a 0 0 7\r\n59  abc\r\nincr a 1\r\nget a\r\n", 0,
     "STORED\r\n60\r\nVALUE a 0 7\r\n60     \r\nEND\r\n"},
    {"number", "incr_digits_then_letter", "set a 0 0 5\r\n59abc\r\nincr a 1\r\n", 0,
     "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
    {"number", "incr_digits_then_nul", "set a 0 0 3\r\n1\0002\r\nincr a 1\r\n",
     sizeof("set a 0 0 3\r\n1\0002\r\nincr a 1\r\n") - 1, "STORED\r\n2\r\n"},
    {"number", "incr_minus_max", "set a 0 0 21\r\n-18446744073709551615\r\nincr a 1\r\n", 0,
     "STORED\r\n2\r\n"},
    {"number", "ma_empty_before_cas",
     "set a 0 0 0\r\n\r\nma a C9\r\nset b 0 0 1\r\n1\r\nma b C9\r\n", 0,
     "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\nEX\r\n"},
    /* ms modes with C and I */
    {"ms", "ms_append_cas",
     "set a 0 0 1\r\na\r\nms a 1 MA C1\r\nb\r\nms a 1 MA C1\r\nc\r\nms a 1 MP C9\r\nd\r\n"
     "ms a 1 MA C0\r\ne\r\nget a\r\n",
     0, "STORED\r\nHD\r\nEX\r\nEX\r\nHD\r\nVALUE a 0 3\r\nabe\r\nEND\r\n"},
    {"ms", "ms_modes_missing",
     "ms a 1 MA C5\r\nb\r\nms a 1 MP C5\r\nb\r\nms a 1 MR C5\r\nb\r\nms a 1 MS C5\r\nb\r\n"
     "ms a 1 C5\r\nb\r\nms a 1 ME C5\r\nb\r\nget a\r\n",
     0, "NS\r\nNS\r\nNF\r\nNF\r\nNF\r\nHD\r\nVALUE a 0 1\r\nb\r\nEND\r\n"},
    {"ms", "ms_stale_set",
     "set a 0 0 1\r\na\r\nmd a I\r\nms a 1 I C1\r\nb\r\nmg a v c\r\nms a 1 MA I C1\r\nx\r\n"
     "ms a 1 ME I\r\nx\r\n",
     0, "STORED\r\nHD\r\nHD\r\nVA 1 c3 X W\r\nb\r\nEX\r\nNS\r\n"},
    /* C0: md never matches, ma and ms MA take it as no CAS, ms I does no stale set */
    {"cas0", "md_C0", "set a 0 0 1\r\nx\r\nmd a C0\r\nmd a C0 I\r\nmd b C0\r\nmg a v\r\n", 0,
     "STORED\r\nEX\r\nEX\r\nNF\r\nVA 1\r\nx\r\n"},
    {"cas0", "ma_ms_C0",
     "set a 0 0 1\r\n1\r\nma a C0\r\nms a 1 C0\r\ny\r\nms a 1 MA C0\r\ny\r\nget a\r\n", 0,
     "STORED\r\nHD\r\nEX\r\nHD\r\nVALUE a 0 2\r\n2y\r\nEND\r\n"},
    {"cas0", "ms_I_C0", "set a 0 0 1\r\nx\r\nmd a I\r\nms a 1 I C0\r\ny\r\nmg a v\r\n", 0,
     "STORED\r\nHD\r\nEX\r\nVA 1 X W\r\nx\r\n"},
    /* me reads the item as it is: the stale item's win stays for mg */
    {"lease", "me_no_win", "set a 0 0 1\r\nx\r\nmd a I\r\nme a\r\nmg a\r\n", 0,
     "STORED\r\nHD\r\nME a exp=-1 la=0 cas=2 fetch=no cls=1 size=61\r\nHD X W\r\n"},
    /* R looks at the TTL as it stands at its place: after a T before it */
    {"lease", "R_after_T", "set a 0 0 1\r\nx\r\nmg a R30 T20\r\nmg a T20 R30\r\nmg a\r\n", 0,
     "STORED\r\nHD\r\nHD W\r\nHD Z\r\n"},
    {"lease", "R_after_T0", "set a 0 100 1\r\nx\r\nmg a T0 R200\r\nmg a t\r\n", 0,
     "STORED\r\nHD\r\nHD t-1\r\n"},
    /* ma T is lost when the number grows (memcached touches the replaced item) */
    {"ttl", "ma_T_grown", "set a 0 100 1\r\n9\r\nma a T30 t D100\r\nmg a t\r\n", 0,
     "STORED\r\nHD t30\r\nHD t100\r\n"},
    /* a TTL already past: memcached's unsigned arithmetic (here as if just started) */
    {"ttl", "past_ttl", "set a 0 0 1\r\nx\r\nmg a T-1 t\r\nmg a\r\nmg b N-1 t\r\nmg b t\r\n", 0,
     "STORED\r\nHD t4294967295\r\nEN\r\nHD t4294967295 W\r\nEN\r\n"},
    {"ttl", "ma_T_in_place", "set a 0 100 1\r\n5\r\nma a T30 t\r\nmg a t\r\n", 0,
     "STORED\r\nHD t30\r\nHD t30\r\n"},
    /* a key stored with b is shown base64-encoded by mg k and me */
    {"binary", "binary_key_kept", "ms YWJj 1 b\r\nx\r\nmg abc k\r\nmg YWJj b k v\r\nme abc\r\n", 0,
     "HD\r\nHD kYWJj b\r\nVA 1 kYWJj b\r\nx\r\n"
     "ME YWJj exp=-1 la=0 cas=1 fetch=yes cls=1 size=63\r\n"},
    {"binary", "plain_key_kept", "ms abc 1\r\nx\r\nmg YWJj b k\r\nmd YWJj b k\r\n", 0,
     "HD\r\nHD kabc\r\nHD kYWJj b\r\n"},
    {"binary", "binary_key_append", "ms YWJj 1 b\r\nx\r\nms YWJj 1 b MA k\r\ny\r\nmg abc k v\r\n",
     0, "HD\r\nHD kYWJj b\r\nVA 2 kabc\r\nxy\r\n"},
    {NULL, NULL, NULL, 0, NULL},
};

/* Feed `in` as the pieces [0, cut) and [cut, len) to a fresh store; the reply's length. */
static long run(const char *in, size_t len, size_t cut, char *reply)
{
	static char hdr[OUT_CAP];
	static struct iovec iov[1024];
	static struct process_conn conn;
	struct store_config cfg = {.limit_bytes = 4u << 20};
	struct process_worker w;
	struct proto_out out;
	struct store *s;
	long n;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT_FATAL(process_worker_init(&w, s, 0) == 0);
	process_conn_init(&conn, NULL);
	proto_out_init(&out, hdr, sizeof(hdr), iov, 1024);
	if (cut > 0)
		CU_ASSERT(process_input(&w, &conn, in, cut, T0, &out) == PROCESS_OK);
	CU_ASSERT(process_input(&w, &conn, in + cut, len - cut, T0, &out) == PROCESS_OK);
	n = proto_out_flatten(&out, reply, OUT_CAP);
	process_conn_close(&w, &conn);
	store_teardown(s, false);
	return n;
}

static void run_group(const char *group)
{
	static char reply[OUT_CAP];

	for (const struct transcript *t = transcripts; t->name != NULL; t++) {
		size_t len = t->in_len ? t->in_len : strlen(t->in);

		if (strcmp(t->group, group) != 0)
			continue;
		for (size_t cut = 0; cut < len; cut++) {
			long n = run(t->in, len, cut, reply);
			bool same =
			    n == (long)strlen(t->out) && memcmp(reply, t->out, (size_t)n) == 0;

			if (!same) {
				printf("# %s, cut at %zu: got '%.*s'\n", t->name, cut,
				       n > 0 ? (int)n : 0, reply);
				CU_FAIL("reply differs from the transcript");
				break;
			}
		}
	}
}

#define GROUP(g)                   \
	static void test_##g(void) \
	{                          \
		run_group(#g);     \
	}
GROUP(lease)
GROUP(fetched)
GROUP(fresh)
GROUP(ttl)
GROUP(number)
GROUP(ms)
GROUP(binary)
GROUP(cas0)

/*
 * A streamed reply (out.limit set): once the reply reaches the limit no
 * further request starts: PROCESS_YIELD, the unparsed bytes in paused_rest,
 * and the parser carries on from them (a value split between two inputs
 * too). A multiget would pause between its keys instead (process_resume).
 */
static void test_yield(void)
{
	static const char in[] = "set a 0 0 1\r\nx\r\nget a\r\nset b 0 0 2\r\nyz\r\nget b\r\n";
	static const char want[] = "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nSTORED\r\n"
				   "VALUE b 0 2\r\nyz\r\nEND\r\n";
	static char hdr[OUT_CAP], reply[OUT_CAP];
	static struct iovec iov[64];
	static struct process_conn conn;
	struct store_config cfg = {.limit_bytes = 4u << 20};
	size_t off = 0, got = 0, len = sizeof(in) - 1;
	struct process_worker w;
	struct store *s;
	int calls = 0;

	CU_ASSERT_FATAL(store_setup(&cfg, &s) == 0);
	CU_ASSERT_FATAL(process_worker_init(&w, s, 0) == 0);
	process_conn_init(&conn, NULL);
	while (off < len && calls++ < 10) {
		struct proto_out out;
		enum process_status st;
		size_t piece = len - off;
		long n;

		/* pieces end after the first byte of b's value, as a segment might */
		if (off < 37 && off + piece > 37)
			piece = 37 - off;
		proto_out_init(&out, hdr, sizeof(hdr), iov, 64);
		out.limit = 1;
		st = process_input(&w, &conn, in + off, piece, T0, &out);
		CU_ASSERT_FATAL(st == PROCESS_OK || st == PROCESS_YIELD);
		off += piece - (st == PROCESS_YIELD ? conn.paused_rest : 0);
		n = proto_out_flatten(&out, reply + got, sizeof(reply) - got);
		CU_ASSERT_FATAL(n >= 0);
		got += (size_t)n;
	}
	CU_ASSERT_EQUAL(calls, 5); /* set, get, set (line and 1 byte), set (rest), get */
	CU_ASSERT_EQUAL(got, sizeof(want) - 1);
	CU_ASSERT(memcmp(reply, want, sizeof(want) - 1) == 0);
	process_conn_close(&w, &conn);
	store_teardown(s, false);
}

/* The replies so far: append them to reply[got..cap), then start a new `out`. */
static void take_out(struct proto_out *out, char *reply, size_t *got, size_t cap, size_t limit)
{
	static char hdr[OUT_CAP];
	static struct iovec iov[256];
	long n;

	if (out->buf != NULL) {
		n = proto_out_flatten(out, reply + *got, cap - *got);
		CU_ASSERT_FATAL(n >= 0);
		*got += (size_t)n;
	}
	proto_out_init(out, hdr, sizeof(hdr), iov, 256);
	out->limit = limit;
}

/*
 * Run `in` through process_input in random pieces of at most max_piece bytes
 * (0: whole), with a reply limit, as a transport does: the unparsed rest
 * after a yield is passed again, a paused multiget resumes over the same
 * input. Returns the bytes of reply.
 */
static size_t run_pieces(struct process_worker *w, struct process_conn *c, const char *in,
			 size_t len, size_t max_piece, uint64_t *rng, size_t limit, char *reply,
			 size_t cap)
{
	struct proto_out out = {.buf = NULL};
	size_t off = 0, got = 0;

	take_out(&out, reply, &got, cap, limit);
	while (off < len) {
		size_t piece = len - off;
		enum process_status st;
		char *buf;

		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		if (max_piece > 0 && piece > 1 + *rng % max_piece)
			piece = 1 + *rng % max_piece;
		/* a heap block of exactly the piece: ASan sees any read past it */
		buf = malloc(piece);
		CU_ASSERT_FATAL(buf != NULL);
		memcpy(buf, in + off, piece);
		st = process_input(w, c, buf, piece, T0, &out);
		if (st == PROCESS_PAUSED) {
			size_t rest = c->paused_rest;

			while (st == PROCESS_PAUSED) {
				take_out(&out, reply, &got, cap, limit);
				st = process_resume(w, c, T0, &out);
			}
			CU_ASSERT_FATAL(st == PROCESS_OK);
			off += piece - rest;
		} else {
			off += piece - (st == PROCESS_YIELD ? c->paused_rest : 0);
			if (st == PROCESS_CLOSE)
				off = len;
		}
		free(buf);
		take_out(&out, reply, &got, cap, limit);
	}
	return got;
}

/*
 * Requests parsed ahead change nothing: a stream of requests, fragments of
 * them and arbitrary bytes gets the same replies (and leaves the same store)
 * whole as in random pieces with a tiny reply limit (so batches are cut
 * short at every request, multigets pause). Each piece is a heap block of
 * exactly its length, so ASan builds see any read past the input.
 */
static void test_pieces_as_whole(void)
{
	static const char *const parts[] = {
	    "set k1 0 0 5\r\nhello\r\n", "get k1\r\n", "get k1 k2 k3\r\n", "gets k2\r\n",
	    "set k2 7 0 2\r\nab\r\n", "add k3 0 0 1\r\nx\r\n", "append k1 0 0 1\r\n!\r\n",
	    "delete k1\r\n", "set k3 0 0 1 noreply\r\nz\r\n", "mg k2 v\r\n",
	    "set k4 0 0 3\r\nabcd\r\n", "k", " 0 0 ", "5", "\r\n", "\n", "hello", " ", "get "};
	static char whole[64u << 10], cut[64u << 10];
	struct store_config cfg = {.limit_bytes = 4u << 20};
	static struct process_conn ca, cb;
	uint64_t rng = 0x853c49e6748fea9bull;
	struct process_worker wa, wb;
	struct store *sa, *sb;

	CU_ASSERT_FATAL(store_setup(&cfg, &sa) == 0);
	CU_ASSERT_FATAL(store_setup(&cfg, &sb) == 0);
	CU_ASSERT_FATAL(process_worker_init(&wa, sa, 0) == 0);
	CU_ASSERT_FATAL(process_worker_init(&wb, sb, 0) == 0);
	for (int round = 0; round < 3000; round++) {
		char tmp[600];
		size_t len = 0, na, nb;

		while (len < 500) {
			const char *part;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			part = parts[rng % (sizeof(parts) / sizeof(parts[0]))];
			if (rng % 31 == 0)
				tmp[len++] = (char)(rng >> 24);
			else
				for (; *part != '\0' && len < sizeof(tmp); part++)
					tmp[len++] = *part;
		}
		process_conn_init(&ca, NULL);
		process_conn_init(&cb, NULL);
		na = run_pieces(&wa, &ca, tmp, len, 0, &rng, 0, whole, sizeof(whole));
		nb = run_pieces(&wb, &cb, tmp, len, 1 + round % 60, &rng, 1 + round % 3, cut,
				sizeof(cut));
		CU_ASSERT_EQUAL_FATAL(na, nb);
		CU_ASSERT_FATAL(memcmp(whole, cut, na) == 0);
		process_conn_close(&wa, &ca);
		process_conn_close(&wb, &cb);
	}
	store_teardown(sa, false);
	store_teardown(sb, false);
}

static const struct cunit_test tests[] = {
    {"gat_takes_no_win", test_lease},
    {"fetched_bit", test_fetched},
    {"new_items_are_fresh", test_fresh},
    {"ttl_with_T_and_N", test_ttl},
    {"incr_number_parsing", test_number},
    {"ms_modes_cas_stale", test_ms},
    {"binary_keys", test_binary},
    {"cas_zero", test_cas0},
    {"yield_at_soft_limit", test_yield},
    {"pieces_as_whole", test_pieces_as_whole},
    {NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("process", NULL, NULL, tests) != 0)
		return 1;
	return cunit_tap_run();
}
