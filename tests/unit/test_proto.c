/*
 * The protocol parser: golden request -> parsed-request transcripts for every
 * command and flag, error paths included, each fed whole, cut at every byte
 * boundary and one byte at a time. Error strings were checked against stock
 * memcached 1.6.18 (see docs/PROTOCOL.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_tap.h"
#include "lib/proto/proto_internal.h"
#include "test_proto_util.h"

struct golden {
	const char *in;
	size_t len;
	const char *out;
};

#define G(in, out)                      \
	{                               \
		in, sizeof(in) - 1, out \
	}

static int print_mode;

static void run_golden(const struct proto_config *cfg, const struct golden *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (print_mode) {
			char *got = proto_transcript(cfg, g[i].in, g[i].len, NULL, 0);

			printf("# IN  %s# OUT %s", g[i].in, got);
			free(got);
			continue;
		}
		if (proto_check_splits(cfg, g[i].in, g[i].len, g[i].out) != 0) {
			printf("# case %zu: %s\n", i, g[i].in);
			CU_FAIL("transcript differs");
		}
	}
}

#define RUN(cfg, table) run_golden(cfg, table, sizeof(table) / sizeof(table[0]))

static const struct golden retrieval[] = {
    G("get foo\r\n", "get keys#1=foo,\n"),
    G("get foo\n", "get keys#1=foo,\n"),
    G("get a b  c \r\n", "get keys#3=a,b,c,\n"),
    G("gets a b\r\n", "gets keys#2=a,b,\n"),
    G("bget a\r\n", "get keys#1=a,\n"),
    G("gat 100 a b\r\n", "gat keys#2=a,b, e=100\n"),
    G("gats -1 a\r\n", "gats keys#1=a, e=-1\n"),
    G("gat 10\r\n", "gat e=10\n"),
    G("get\r\n", "ERR ERROR\n"),
    G("get    \r\n", "ERR ERROR\n"),
    G("gat x a\r\n", "ERR CLIENT_ERROR invalid exptime argument\n"),
    G("gett a\r\n", "ERR ERROR\n"),
    G("GET a\r\n", "ERR ERROR\n"),
    G("get\ta\r\n", "ERR ERROR\n"),
    G("get a\tb\r\n", "get keys#1=a\\x09b,\n"),
    G("get a\rb\r\n", "get keys#1=a\\rb,\n"),
    G("get a\0b\r\nget c\r\n", "get keys#1=a,\nget keys#1=c,\n"),
    G("get a\r\r\n", "get keys#1=a\\r,\n"),
    G("get "
      "k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k1234567"
      "89k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k12345"
      "6789k123456789k123456789k123456789k123456789k123456789k123456789k123456789\r\n",
      "get "
      "keys#1="
      "k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k1234567"
      "89k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k12345"
      "6789k123456789k123456789k123456789k123456789k123456789k123456789k123456789,\n"),
    G("get a "
      "k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k1234567"
      "89k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k12345"
      "6789k123456789k123456789k123456789k123456789k123456789k123456789k1234567890\r\n",
      "ERR CLIENT_ERROR bad command line format\n"),
    G("get 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26\r\n",
      "get keys#26=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,\n"),
};

static void test_retrieval(void)
{
	RUN(NULL, retrieval);
}

static const struct golden storage[] = {
    G("set foo 5 10 5\r\nhello\r\n", "set k=foo f=5 e=10 v5=hello\n"),
    G("set foo 0 0 0\r\n\r\n", "set k=foo v0=\n"),
    G("set foo 0 0 5 noreply\r\nhello\r\n", "set nr k=foo v5=hello\n"),
    G("add foo 1 2 3\r\nabc\r\n", "add k=foo f=1 e=2 v3=abc\n"),
    G("replace foo 1 2 3\r\nabc\r\n", "replace k=foo f=1 e=2 v3=abc\n"),
    G("append foo 1 2 3\r\nabc\r\n", "append k=foo f=1 e=2 v3=abc\n"),
    G("prepend foo 1 2 3 noreply\r\nabc\r\n", "prepend nr k=foo f=1 e=2 v3=abc\n"),
    G("cas foo 0 0 1 99\r\nx\r\n", "cas k=foo cas=99 v1=x\n"),
    G("cas foo 0 0 1 99 noreply\r\nx\r\n", "cas nr k=foo cas=99 v1=x\n"),
    G("cas foo 0 0 1\r\nx\r\n", "ERR ERROR\nERR ERROR\n"),
    G("cas foo 0 0 1 x\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("set v 0 0 4\r\na\r\nb\r\n", "set k=v v4=a\\r\\nb\n"),
    G("set a 0 0 1\r\nab\r\n", "ERR CLIENT_ERROR bad data chunk\nERR ERROR\n"),
    G("set a 0 0 1 noreply\r\nab\r\n", "ERR nr CLIENT_ERROR bad data chunk\nERR ERROR\n"),
    G("set k x 0 1 noreply\r\nx\r\n", "ERR nr CLIENT_ERROR bad command line format\nERR ERROR\n"),
    G("set k 0 0 -1\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("set k 0 x 1\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("set k 0 0 1x\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("set k 0 0 1 2 3\r\n", "ERR ERROR\n"),
    G("set k 0 0\r\n", "ERR ERROR\n"),
    G("set k 0 0 noreply\r\n", "ERR nr CLIENT_ERROR bad command line format\n"),
    G("set b 4294967296 0 1\r\nx\r\n", "set k=b v1=x\n"),
    G("set b 4294967295 0 1\r\nx\r\n", "set k=b f=4294967295 v1=x\n"),
    G("set b -1 0 1\r\nx\r\n", "ERR CLIENT_ERROR bad command line format\nERR ERROR\n"),
    G("set b -18446744073709551615 0 1\r\nx\r\n", "set k=b f=1 v1=x\n"),
    G("set b 18446744073709551616 0 1\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("set k 0 0 4294967297\r\nx\r\n", "set k=k v1=x\n"),
    G("set k 0 2147483648 1\r\nx\r\n", "set k=k e=-2147483648 v1=x\n"),
    G("set k +1 \t5 +1\r\nx\r\n", "set k=k f=1 e=5 v1=x\n"),
    G("set k 0\t 0 1\t\r\nx\r\n", "set k=k v1=x\n"),
    G("set "
      "k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k1234567"
      "89k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k12345"
      "6789k123456789k123456789k123456789k123456789k123456789k123456789k1234567890 0 0 1\r\nx\r\n",
      "ERR CLIENT_ERROR bad command line format\nERR ERROR\n"),
};

static void test_storage(void)
{
	RUN(NULL, storage);
}

static void test_too_large(void)
{
	/* memcached's threshold: 48 + 8 + key + 1 + value + 2 (+4 with flags) > -I */
	static const struct golden g[] = {
	    G("set k 0 0 40\r\n0123456789012345678901234567890123456789\r\nget k\r\n",
	      "set k=k v40=0123456789012345678901234567890123456789\nget keys#1=k,\n"),
	    G("set k 0 0 41\r\n01234567890123456789012345678901234567890\r\nget k\r\n",
	      "ERR SERVER_ERROR object too large for cache\nget keys#1=k,\n"),
	    G("set k 1 0 37\r\n0123456789012345678901234567890123456\r\nget k\r\n",
	      "ERR SERVER_ERROR object too large for cache\nget keys#1=k,\n"),
	    G("set k 0 0 41 noreply\r\n01234567890123456789012345678901234567890\r\nmn\r\n",
	      "ERR nr SERVER_ERROR object too large for cache\nmn\n"),
	    G("ms k 41\r\n01234567890123456789012345678901234567890\r\nmn\r\n",
	      "ERR SERVER_ERROR object too large for cache\nmn\n"),
	    G("ms k 41 q\r\n01234567890123456789012345678901234567890\r\nmn\r\n",
	      "ERR SERVER_ERROR object too large for cache\nmn\n"),
	    G("ms k 40 q\r\n0123456789012345678901234567890123456789\r\nmn\r\n",
	      "ms nr k=k m=q v40=0123456789012345678901234567890123456789\nmn\n"),
	};
	struct proto_config cfg = {.item_size_max = 100};

	RUN(&cfg, g);
	CU_ASSERT_FALSE(proto_item_too_large(1048576, 1, 0, 1048516));
	CU_ASSERT_TRUE(proto_item_too_large(1048576, 1, 0, 1048517));
	CU_ASSERT_TRUE(proto_item_too_large(1048576, 1, 1, 1048513));
	CU_ASSERT_FALSE(proto_item_too_large(1048576, 1, 1, 1048512));
}

static const struct golden others[] = {
    G("delete a\r\n", "delete k=a\n"),
    G("delete a 0\r\n", "delete k=a\n"),
    G("delete a noreply\r\n", "delete nr k=a\n"),
    G("delete a 0 noreply\r\n", "delete nr k=a\n"),
    G("delete a 1\r\n",
      "ERR CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\n"),
    G("delete a x noreply\r\n",
      "ERR nr CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\n"),
    G("delete\r\n", "ERR ERROR\n"),
    G("delete a 0 noreply x\r\n", "ERR ERROR\n"),
    G("incr a 5\r\n", "incr k=a d=5\n"),
    G("decr a 18446744073709551615 noreply\r\n", "decr nr k=a d=18446744073709551615\n"),
    G("incr a x\r\n", "ERR CLIENT_ERROR invalid numeric delta argument\n"),
    G("incr a -1\r\n", "ERR CLIENT_ERROR invalid numeric delta argument\n"),
    G("incr a 18446744073709551616\r\n", "ERR CLIENT_ERROR invalid numeric delta argument\n"),
    G("incr a -18446744073709551615\r\n", "incr k=a d=1\n"),
    G("incr a 1 2\r\n", "incr k=a d=1\n"),
    G("incr a\r\n", "ERR ERROR\n"),
    G("touch a 10\r\n", "touch k=a e=10\n"),
    G("touch a 10 noreply\r\n", "touch nr k=a e=10\n"),
    G("touch a x\r\n", "ERR CLIENT_ERROR invalid exptime argument\n"),
    G("touch a\r\n", "ERR ERROR\n"),
    G("flush_all\r\n", "flush_all\n"),
    G("flush_all 0\r\n", "flush_all delay\n"),
    G("flush_all 10\r\n", "flush_all e=10 delay\n"),
    G("flush_all noreply\r\n", "flush_all nr\n"),
    G("flush_all 10 noreply\r\n", "flush_all nr e=10 delay\n"),
    G("flush_all 10 20\r\n", "flush_all e=10 delay\n"),
    G("flush_all noreply 10\r\n", "ERR CLIENT_ERROR invalid exptime argument\n"),
    G("flush_all x\r\n", "ERR CLIENT_ERROR invalid exptime argument\n"),
    G("flush_all 1 2 3\r\n", "ERR ERROR\n"),
    G("version\r\n", "version\n"),
    G("version x\r\n", "version\n"),
    G("quit\r\n", "quit\n"),
    G("verbosity 1\r\n", "verbosity vb=1\n"),
    G("verbosity 1 noreply\r\n", "verbosity nr vb=1\n"),
    G("verbosity\r\n", "ERR ERROR\n"),
    G("verbosity noreply\r\n", "ERR nr CLIENT_ERROR bad command line format\n"),
    G("verbosity x\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("stats\r\n", "stats\n"),
    G("stats reset\r\n", "stats k=reset args#1=reset\n"),
    G("stats detail on\r\n", "stats k=detail args#2=detail on\n"),
    G("stats  settings \r\n", "stats k=settings args#1=settings \n"),
    G("shutdown\r\n", "shutdown\n"),
    G("foo\r\n", "ERR ERROR\n"),
    G("x\r\n", "ERR ERROR\n"),
    G("\r\n", "ERR ERROR\n"),
    G("\n", "ERR ERROR\n"),
    G(" \r\n", "ERR ERROR\n"),
    G("mz a\r\n", "ERR ERROR\n"),
    G("slabs automove 1\r\n", "ERR ERROR\n"),
};

static void test_other_commands(void)
{
	RUN(NULL, others);
}

static const struct golden meta[] = {
    G("mg foo\r\n", "mg k=foo\n"),
    G("mg foo v k t f s c O123 q\r\n", "mg nr k=foo m=vktfscOq O123\n"),
    G("mg foo N30 R10 T60 h l u b\r\n", "ERR CLIENT_ERROR error decoding key\n"),
    G("mg foo N30 R10 T-1 h l u E\r\n", "ERR CLIENT_ERROR invalid flag\n"),
    G("mg foo N30 R10 T-1 h l u P L/x\r\n", "mg k=foo m=NRThluPL T=-1 N=30 R=10\n"),
    G("mg YWJj b k v\r\n", "mg k=abc m=bkv bin\n"),
    G("mg Y!WJj b\r\n", "mg k=abc m=b bin\n"),
    G("mg =YQ= b\r\n", "mg k=\\x01 m=b bin\n"),
    G("mg YQ==YQ== b\r\n", "mg k=a m=b bin\n"),
    G("mg YWJ b\r\n", "ERR CLIENT_ERROR error decoding key\n"),
    G("mg !!!! b\r\n", "ERR CLIENT_ERROR error decoding key\n"),
    G("mg\r\n", "ERR ERROR\n"),
    G("mg foo v v\r\n", "ERR CLIENT_ERROR duplicate flag\n"),
    G("mg foo x\r\n", "ERR CLIENT_ERROR invalid flag\n"),
    G("mg foo 1 1\r\n", "ERR CLIENT_ERROR invalid flag\n"),
    G("mg foo \xff\r\n", "ERR CLIENT_ERROR duplicate flag\n"),
    G("mg foo Nx\r\n", "ERR CLIENT_ERROR bad token in command line format\n"),
    G("mg foo N\r\n", "ERR CLIENT_ERROR bad token in command line format\n"),
    G("mg foo Fx\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("mg foo Nx Fx\r\n", "ERR CLIENT_ERROR bad token in command line format\n"),
    G("mg foo Nx Dx\r\n", "ERR CLIENT_ERROR invalid numeric delta value\n"),
    G("mg foo Nx v v\r\n", "ERR CLIENT_ERROR duplicate flag\n"),
    G("mg foo Oabcdefghijabcdefghijabcdefghija\r\n",
      "mg k=foo m=O Oabcdefghijabcdefghijabcdefghija\n"),
    G("mg foo Oabcdefghijabcdefghijabcdefghijab q\r\n", "ERR CLIENT_ERROR opaque token too long\n"),
    G("mg a k O1 s v t f c h l u q P L N1 R1 T1\r\n",
      "mg nr k=a m=kOsvtfchluqPLNRT O1 T=1 N=1 R=1\n"),
    G("mg a k O1 s v t f c h l u q P L N1 R1 T1 F1\r\n",
      "mg nr k=a m=kOsvtfchluqPLNRTF O1 T=1 N=1 R=1 F=1\n"),
    G("mg a k O1 s v t f c h l u q P L N1 R1 T1 F1 C1\r\n",
      "ERR CLIENT_ERROR options flags are too long\n"),
    G("md a k O1 s v t f c h l u q P L N1 R1 T1 F1 C1\r\n",
      "ERR CLIENT_ERROR options flags too long\n"),
    G("mg "
      "k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k1234567"
      "89k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k12345"
      "6789k123456789k123456789k123456789k123456789k123456789k123456789k1234567890 v\r\n",
      "ERR CLIENT_ERROR bad command line format\n"),
    G("ms foo 5 T10 F3 c k Oab q I C7\r\nhello\r\n",
      "ms nr k=foo f=3 e=10 cas=7 m=TFckOqIC Oab T=10 F=3 C=7 v5=hello\n"),
    G("ms foo 5 MA\r\nhello\r\n", "ms k=foo m=M M=A v5=hello\n"),
    G("ms foo 2 ME\r\nhi\r\nms foo 2 MP\r\nhi\r\nms foo 2 MR\r\nhi\r\nms foo 2 MS\r\nhi\r\n",
      "ms k=foo m=M M=E v2=hi\nms k=foo m=M M=P v2=hi\nms k=foo m=M M=R v2=hi\n"
      "ms k=foo m=M M=S v2=hi\n"),
    G("ms foo 2 MX\r\nhi\r\nmn\r\n", "ERR CLIENT_ERROR invalid mode for ms M token\nmn\n"),
    G("ms foo 2 MAA\r\nhi\r\nmn\r\n", "ERR CLIENT_ERROR incorrect length for M token\nmn\n"),
    G("ms foo 2 v v\r\nhi\r\nmn\r\n", "ERR CLIENT_ERROR duplicate flag\nmn\n"),
    G("ms foo 2 S2\r\nhi\r\nmn\r\n", "ERR CLIENT_ERROR invalid flag\nmn\n"),
    G("ms foo 2 Oabcdefghijabcdefghijabcdefghijab MX\r\nhi\r\nmn\r\n",
      "ERR CLIENT_ERROR invalid mode for ms M token\nmn\n"),
    G("ms foo 2 Oabcdefghijabcdefghijabcdefghijab\r\nhi\r\nmn\r\n",
      "ERR CLIENT_ERROR opaque token too long\nmn\n"),
    G("ms YWJj 2 b k\r\nhi\r\n", "ms k=abc m=bk bin v2=hi\n"),
    G("ms foo\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("ms foo x\r\nhi\r\n", "ERR CLIENT_ERROR bad command line format\nERR ERROR\n"),
    G("ms foo -1\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("ms foo 2 q\r\nhiXY\r\n", "ERR CLIENT_ERROR bad data chunk\nERR ERROR\n"),
    G("ms a 1 k O1 s v t f c h l u q P L N1 R1 T1 F1\r\nx\r\n",
      "ERR CLIENT_ERROR options flags too long\nERR ERROR\n"),
    G("md foo\r\n", "md k=foo\n"),
    G("md foo q C5 I T30 k O1\r\n", "md nr k=foo m=qCITkO O1 T=30 C=5\n"),
    G("md foo v v\r\n", "ERR CLIENT_ERROR invalid or duplicate flag\n"),
    G("md foo x\r\n", "ERR CLIENT_ERROR invalid or duplicate flag\n"),
    G("md foo Cx\r\n", "ERR CLIENT_ERROR invalid or duplicate flag\n"),
    G("md\r\n", "ERR ERROR\n"),
    G("md foo Oabcdefghijabcdefghijabcdefghijab\r\n", "ERR CLIENT_ERROR opaque token too long\n"),
    G("ma foo\r\n", "ma k=foo d=1 D=1\n"),
    G("ma foo N0 J10 D5 MD v t c q\r\n", "ma nr k=foo d=5 m=NJDMvtcq M=D N=0 J=10 D=5\n"),
    G("ma foo M+\r\nma foo M-\r\nma foo MI\r\n",
      "ma k=foo d=1 m=M M=+ D=1\nma k=foo d=1 m=M M=- D=1\nma k=foo d=1 m=M M=I D=1\n"),
    G("ma foo MX\r\n", "ERR CLIENT_ERROR invalid mode for ma M token\n"),
    G("ma foo Dx\r\n", "ERR CLIENT_ERROR invalid or duplicate flag\n"),
    G("me foo\r\n", "me k=foo\n"),
    G("me YWJj b\r\n", "me k=abc bin\n"),
    G("me YWJj c\r\n", "me k=YWJj\n"),
    G("me YWJ b\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("me\r\n", "ERR CLIENT_ERROR bad command line format\n"),
    G("mn\r\n", "mn\n"),
    G("mn foo bar\r\n", "mn\n"),
};

static void test_meta(void)
{
	RUN(NULL, meta);
}

static const struct golden stream[] = {
    G("get a\r\nset b 0 0 1\r\nx\r\nget b\r\nmg b v\r\nmn\r\n",
      "get keys#1=a,\nset k=b v1=x\nget keys#1=b,\nmg k=b m=v\nmn\n"),
    G("set a 0 0 10\r\n0123456789\r\nset b 0 0 3 noreply\r\nabc\r\n",
      "set k=a v10=0123456789\nset nr k=b v3=abc\n"),
    G("get a", ""),
    G("set a 0 0 5\r\nab", "PARTIAL\n"),
};

static void test_stream(void)
{
	RUN(NULL, stream);
}

/* A line with no newline in its first 2048 bytes closes, unless it is a multiget. */
static void test_line_limits(void)
{
	struct proto_config cfg = {0};
	char *in = malloc(12000), *got;
	size_t n;

	memset(in, 'x', 3000);
	got = proto_transcript(&cfg, in, 3000, NULL, 0);
	CU_ASSERT_STRING_EQUAL(got, "CLOSE\n");
	free(got);
	n = 1500;
	got = proto_transcript(&cfg, in, 3000, &n, 1);
	CU_ASSERT_STRING_EQUAL(got, "CLOSE\n");
	free(got);
	got = proto_transcript(&cfg, in, 2048, NULL, 0);
	CU_ASSERT_STRING_EQUAL(got, "");
	free(got);
	/* a long line that arrives whole is processed, like memcached reading it in one go */
	memcpy(in + 3000, "\r\n", 2);
	got = proto_transcript(&cfg, in, 3002, NULL, 0);
	CU_ASSERT_STRING_EQUAL(got, "ERR ERROR\n");
	free(got);
	/* a multiget may be longer, split or not, up to the line buffer */
	memcpy(in, "get ", 4);
	for (n = 4; n < 6000; n += 2)
		memcpy(in + n, "a ", 2);
	memcpy(in + 6000, "\r\n", 2);
	n = 3000;
	got = proto_transcript(&cfg, in, 6002, &n, 1);
	CU_ASSERT_EQUAL(strncmp(got, "get keys#2998=a,a,", 18), 0);
	free(got);
	/* beyond the line buffer, a split multiget closes (a documented deviation) */
	for (n = 4; n < 10000; n += 2)
		memcpy(in + n, "a ", 2);
	memcpy(in + 10000, "\r\n", 2);
	n = 9000;
	got = proto_transcript(&cfg, in, 10002, &n, 1);
	CU_ASSERT_STRING_EQUAL(got, "CLOSE\n");
	free(got);
	got = proto_transcript(&cfg, in, 10002, NULL, 0);
	CU_ASSERT_EQUAL(strncmp(got, "get keys#4998=a,a,", 18), 0);
	free(got);
	free(in);
}

/* Split values come as REQUEST(partial) + VALUE... + VALUE_END, spans into each input. */
static void test_value_events(void)
{
	static char line[PROTO_LINE_BUF_DEFAULT];
	struct proto_parser p;
	struct proto_request r;
	size_t used;
	const char *a = "set k 0 0 6\r\nabc", *b = "def\r", *c = "\nget k\r\n";

	proto_parser_init(&p, NULL, line, sizeof(line));
	CU_ASSERT_EQUAL(proto_parse(&p, a, strlen(a), &used, &r), PROTO_EV_REQUEST);
	CU_ASSERT_TRUE(r.value_partial);
	CU_ASSERT_EQUAL(r.value_len, 6);
	CU_ASSERT_EQUAL(r.value.len, 3);
	CU_ASSERT_PTR_EQUAL(r.value.p, a + 13);
	CU_ASSERT_EQUAL(used, strlen(a));
	CU_ASSERT_EQUAL(proto_parse(&p, b, strlen(b), &used, &r), PROTO_EV_VALUE);
	CU_ASSERT_EQUAL(r.cmd, PROTO_CMD_SET);
	CU_ASSERT_PTR_EQUAL(r.value.p, b);
	CU_ASSERT_EQUAL(r.value.len, 3);
	CU_ASSERT_EQUAL(used, 3);
	CU_ASSERT_EQUAL(proto_parse(&p, b + 3, 1, &used, &r), PROTO_EV_NEED_MORE);
	CU_ASSERT_EQUAL(used, 1);
	CU_ASSERT_EQUAL(proto_parse(&p, c, strlen(c), &used, &r), PROTO_EV_VALUE_END);
	CU_ASSERT_EQUAL(used, 1);
	CU_ASSERT_EQUAL(proto_parse(&p, c + 1, strlen(c) - 1, &used, &r), PROTO_EV_REQUEST);
	CU_ASSERT_EQUAL(r.cmd, PROTO_CMD_GET);
	/* whole values are one span straight into the input */
	proto_parser_init(&p, NULL, line, sizeof(line));
	a = "set k 0 0 3\r\nabc\r\n";
	CU_ASSERT_EQUAL(proto_parse(&p, a, strlen(a), &used, &r), PROTO_EV_REQUEST);
	CU_ASSERT_FALSE(r.value_partial);
	CU_ASSERT_PTR_EQUAL(r.value.p, a + 13);
	CU_ASSERT_PTR_EQUAL(r.key.p, a + 4);
	CU_ASSERT_EQUAL(used, strlen(a));
}

/* The executor refuses a partial value (out of memory): the rest is swallowed. */
static void test_discard_value(void)
{
	static char line[PROTO_LINE_BUF_DEFAULT];
	struct proto_parser p;
	struct proto_request r;
	size_t used;
	const char *a = "set k 0 0 6\r\nabc", *b = "def\r\nmn\r\n";

	proto_parser_init(&p, NULL, line, sizeof(line));
	CU_ASSERT_EQUAL(proto_parse(&p, a, strlen(a), &used, &r), PROTO_EV_REQUEST);
	proto_parser_discard_value(&p);
	CU_ASSERT_EQUAL(proto_parse(&p, b, strlen(b), &used, &r), PROTO_EV_REQUEST);
	CU_ASSERT_EQUAL(r.cmd, PROTO_CMD_MN);
	CU_ASSERT_EQUAL(used, strlen(b));
	/* discarding with nothing pending changes nothing */
	proto_parser_discard_value(&p);
	CU_ASSERT_EQUAL(proto_parse(&p, "mn\r\n", 4, &used, &r), PROTO_EV_REQUEST);
}

static void test_udp_policy(void)
{
	static const struct golden g[] = {
	    G("get a\r\nset a 0 0 1\r\nx\r\nmg a v\r\nmn\r\ndelete a\r\ngets a b\r\n",
	      "get keys#1=a,\nERR CLIENT_ERROR command not allowed over UDP\nmg k=a m=v\nmn\n"
	      "ERR CLIENT_ERROR command not allowed over UDP\ngets keys#2=a,b,\n"),
	    G("ms a 2 T1\r\nhi\r\nmn\r\n", "ERR CLIENT_ERROR command not allowed over UDP\nmn\n"),
	    G("set a 0 0 x\r\nmn\r\n", "ERR CLIENT_ERROR command not allowed over UDP\nmn\n"),
	    G("foo\r\n", "ERR ERROR\n"),
	};
	static const struct golden all[] = {
	    G("set a 0 0 1\r\nx\r\ndelete a\r\n", "set k=a v1=x\ndelete k=a\n"),
	};
	struct proto_config cfg = {.udp = true};

	RUN(&cfg, g);
	cfg.udp_allow = ~UINT64_C(0);
	RUN(&cfg, all);
}

static void test_names(void)
{
	int i;

	for (i = 0; i < PROTO_CMD__COUNT; i++)
		CU_ASSERT_PTR_NOT_NULL(proto_cmd_name(i));
	for (i = 0; i < PROTO_ERR__COUNT; i++)
		CU_ASSERT_PTR_NOT_NULL(proto_error_string(i));
	CU_ASSERT_STRING_EQUAL(proto_error_string(PROTO_ERR__COUNT), "ERROR");
	CU_ASSERT_STRING_EQUAL(proto_cmd_name(PROTO_CMD_FLUSH_ALL), "flush_all");
	CU_ASSERT_STRING_EQUAL(proto_error_string(PROTO_ERR_OUT_OF_MEMORY),
			       "SERVER_ERROR out of memory storing object");
}

static void test_base64(void)
{
	char out[64];
	size_t n;

	n = proto_base64_encode("abc", 3, out, sizeof(out));
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(out, "YWJj", 4), 0);
	n = proto_base64_encode("a", 1, out, sizeof(out));
	CU_ASSERT_EQUAL(memcmp(out, "YQ==", n), 0);
	n = proto_base64_encode("ab", 2, out, sizeof(out));
	CU_ASSERT_EQUAL(memcmp(out, "YWI=", n), 0);
	CU_ASSERT_EQUAL(proto_base64_encode("abcd", 4, out, 7), 0);
	n = proto_base64_decode("YWI=", 4, out, sizeof(out));
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(proto_base64_decode("====", 4, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(proto_base64_decode("", 0, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(proto_base64_decode("YWJj", 4, out, 2), 0);
}

/* memcached's tokenize_command as the parser first had it, byte by byte. */
static size_t tokenize_ref(const char *s, size_t len, struct proto_tok *t, size_t max)
{
	const char *st = s, *e = s, *end = s + len;
	size_t n = 0;
	bool full = false;

	for (; e < end; e++) {
		if (*e != ' ')
			continue;
		if (st != e) {
			t[n].p = st;
			t[n].len = (uint32_t)(e - st);
			n++;
			if (n == max - 1) {
				e++;
				st = e;
				full = true;
				break;
			}
		}
		st = e + 1;
	}
	if (!full && st != e) {
		t[n].p = st;
		t[n].len = (uint32_t)(e - st);
		n++;
	}
	t[n].p = e == end ? NULL : e;
	t[n].len = 0;
	return n + 1;
}

/* The tokenizer (eight bytes a step) splits any line as the byte-wise one does. */
static void test_tokenize(void)
{
	static const size_t maxes[] = {2, 3, 5, 8, PROTO_MAX_TOKENS};
	uint64_t rng = 88172645463325252ull;
	char line[96];

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rng % sizeof(line)), max = maxes[(rng >> 8) % 5];
		struct proto_tok a[PROTO_MAX_TOKENS + 1], b[PROTO_MAX_TOKENS + 1];
		size_t na, nb;

		for (size_t i = 0; i < len; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			line[i] = (rng & 3) == 0 ? ' ' : (char)('a' + rng % 7);
		}
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		na = proto_tokenize(line, len, a, max);
		nb = tokenize_ref(line, len, b, max);
		CU_ASSERT_EQUAL_FATAL(na, nb);
		for (size_t i = 0; i < na; i++) {
			CU_ASSERT_PTR_EQUAL_FATAL(a[i].p, b[i].p);
			CU_ASSERT_EQUAL_FATAL(a[i].len, b[i].len);
		}
	}
}

/* Numbers of digits only (the parser's fast path) read as strtoull reads them. */
static void test_numbers(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	char d[32];

	for (int round = 0; round < 20000; round++) {
		size_t len = 1 + (size_t)(rng % 24);
		struct proto_tok t = {d, (uint32_t)len};
		unsigned long long ref;
		uint64_t v;
		uint32_t v32;
		int32_t i32;
		char *end;
		bool ok;

		for (size_t i = 0; i < len; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			d[i] = (char)('0' + rng % 10);
		}
		d[len] = '\0';
		errno = 0;
		ref = strtoull(d, &end, 10);
		ok = errno != ERANGE;
		CU_ASSERT_EQUAL_FATAL(proto_strtoull(t, &v), ok);
		if (ok)
			CU_ASSERT_EQUAL_FATAL(v, ref);
		CU_ASSERT_EQUAL_FATAL(proto_strtoul(t, &v32), ok);
		if (ok)
			CU_ASSERT_EQUAL_FATAL(v32, (uint32_t)ref);
		ok = ok && ref <= INT64_MAX;
		CU_ASSERT_EQUAL_FATAL(proto_strtol(t, &i32), ok);
		if (ok)
			CU_ASSERT_EQUAL_FATAL(i32, (int32_t)(uint32_t)ref);
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
	}
}

/* Two requests alike, spans compared by content. */
static bool span_eq(struct proto_span a, struct proto_span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The fields a parse fills, the same in both requests (fatal otherwise). */
static void assert_same_request(const struct proto_request *a, const struct proto_request *b)
{
	CU_ASSERT_EQUAL_FATAL(a->cmd, b->cmd);
	CU_ASSERT_EQUAL_FATAL(a->error, b->error);
	CU_ASSERT_EQUAL_FATAL(a->noreply, b->noreply);
	CU_ASSERT_FATAL(span_eq(a->key, b->key));
	CU_ASSERT_FATAL(span_eq(a->keys, b->keys));
	CU_ASSERT_EQUAL_FATAL(a->nkeys, b->nkeys);
	CU_ASSERT_EQUAL_FATAL(a->client_flags, b->client_flags);
	CU_ASSERT_EQUAL_FATAL(a->exptime, b->exptime);
	CU_ASSERT_EQUAL_FATAL(a->value_len, b->value_len);
	CU_ASSERT_FATAL(span_eq(a->value, b->value));
	CU_ASSERT_EQUAL_FATAL(a->value_partial, b->value_partial);
}

/*
 * The common set and get lines read without the tokenizer come out as the
 * tokenizer reads them: every random line is parsed as it is and after a
 * leading space (which the tokenizer skips and which keeps the line off the
 * fast path), and the events and requests must match.
 */
static uint64_t next_rand(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

static void test_fast_lines(void)
{
	static const char *const cmds[] = {"set", "get", "gets", "sett", "se"};
	static const char *const seps[] = {" ", " ", " ", " ", " ", "  ", "\t", ""};
	static const char *const nums[] = {"0", "5", "5", "123456789", "1234567890", "4294967296",
					   "99999999999999999999", "3000000000", "-1", "x", "", "05",
					   "5/", "5:", "1\xc0", "\xb5", "12345678", "123456789012"};
	static const char *const tails[] = {"", "", " noreply", "xnoreply", " noreplx", " ",
					    " noreply ", " x", "noreply"};
	static char la[PROTO_LINE_BUF_DEFAULT], lb[PROTO_LINE_BUF_DEFAULT];
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 200000; round++) {
		char in[600], a[620], b[620];
		struct proto_parser pa, pb;
		struct proto_request ra, rb;
		size_t len = 0, ua, ub, na, nb, klen;
		enum proto_event ea, eb;
		int nfields;

#define NEXT()	  next_rand(&rng)
#define PICK(arr) (arr[NEXT() % (sizeof(arr) / sizeof(arr[0]))])
#define PUT(str)                                                 \
	do {                                                     \
		const char *s_ = (str);                          \
		size_t n_ = strlen(s_);                          \
		memcpy(in + len, s_, n_);                        \
		len += n_;                                       \
	} while (0)
		PUT(PICK(cmds));
		PUT(PICK(seps));
		klen = NEXT() % 4 == 0 ? 248 + NEXT() % 4 : 1 + NEXT() % 40;
		for (size_t i = 0; i < klen; i++)
			in[len++] = (char)('a' + i % 26);
		if (NEXT() % 16 == 0) {
			size_t at = len - 1 - NEXT() % klen;

			in[at] = NEXT() % 2 ? '\0' : ' ';
		}
		nfields = (int)(NEXT() % 5);
		for (int f = 0; f < nfields; f++) {
			PUT(PICK(seps));
			PUT(PICK(nums));
		}
		PUT(PICK(tails));
#undef PUT
#undef PICK
#undef NEXT
		b[0] = ' ';
		memcpy(a, in, len);
		memcpy(b + 1, in, len);
		memcpy(a + len, "\r\n12345\r\n", 9);
		memcpy(b + 1 + len, "\r\n12345\r\n", 9);
		na = len + 9;
		nb = len + 10;
		proto_parser_init(&pa, NULL, la, sizeof(la));
		proto_parser_init(&pb, NULL, lb, sizeof(lb));
		ea = proto_parse(&pa, a, na, &ua, &ra);
		eb = proto_parse(&pb, b, nb, &ub, &rb);
		CU_ASSERT_EQUAL_FATAL(ea, eb);
		CU_ASSERT_EQUAL_FATAL(ua + 1, ub);
		assert_same_request(&ra, &rb);
		/* the line cut in two: read from the parser's line buffer */
		if (len > 1) {
			size_t cut = 1 + next_rand(&rng) % (len - 1), uc;

			proto_parser_init(&pa, NULL, la, sizeof(la));
			CU_ASSERT_EQUAL_FATAL(proto_parse(&pa, a, cut, &uc, &ra),
					      PROTO_EV_NEED_MORE);
			CU_ASSERT_EQUAL_FATAL(uc, cut);
			ea = proto_parse(&pa, a + cut, na - cut, &ua, &ra);
			CU_ASSERT_EQUAL_FATAL(ea, eb);
			CU_ASSERT_EQUAL_FATAL(cut + ua + 1, ub);
			assert_same_request(&ra, &rb);
		}
	}
}

static const struct cunit_test tests[] = {
    {"retrieval", test_retrieval},
    {"storage", test_storage},
    {"too_large", test_too_large},
    {"other_commands", test_other_commands},
    {"meta", test_meta},
    {"stream", test_stream},
    {"line_limits", test_line_limits},
    {"value_events", test_value_events},
    {"discard_value", test_discard_value},
    {"udp_policy", test_udp_policy},
    {"names", test_names},
    {"base64", test_base64},
    {"tokenize", test_tokenize},
    {"numbers", test_numbers},
    {"fast_lines", test_fast_lines},
    {NULL, NULL},
};

int main(void)
{
	print_mode = getenv("PROTO_GOLDEN_PRINT") != NULL;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("proto_parse", NULL, NULL, tests) != 0)
		return 1;
	return cunit_tap_run();
}
