/*
 * Differential test: the same scripted session goes to stock memcached (TCP,
 * loopback) and to dpcache's executor in-process (dataplane/process over a
 * real store); the replies must be equal once CAS values are renamed in order
 * of appearance and timing and item internals (meta l, me la/cls/size) are
 * masked. Remaining TTLs (meta tN, me exp=N) are compared apart: the two sides
 * read the clock at different instants, so they may differ by one second. The in-process side is fed in random pieces, so the streaming path
 * (split lines, values in pieces) is what is compared. TAP output, one test
 * per session unit.
 *
 *   proto_diff PORT SESSION_FILE
 *
 * PROTO_DIFF_VERBOSE=1 in the environment also prints the (normalised)
 * replies of the units that agree, to see what a session exercises.
 *
 * Session file: one unit per line, C escapes (\r \n \t \xNN \\), '#' starts a
 * comment line; $CAS(key) is replaced, on each side, by the last CAS that side
 * returned for key (gets, or mg ... c k); $FILL(n,c) is n bytes of c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "process/process.h"

#define SENTINEL       "mg __diff_sentinel__ Odiffsentinel\r\n"
#define SENTINEL_REPLY "EN Odiffsentinel\r\n"
#define OUT_CAP	       (4u << 20)

struct cas_map {
	char key[64][PROTO_KEY_MAX + 1];
	uint64_t cas[64];
	unsigned n;
};

struct side {
	struct cas_map cas;
	uint64_t seen[4096]; /* CAS values in order of appearance, for renaming */
	unsigned nseen;
	long ttl[64]; /* remaining TTLs of the current reply, in order */
	unsigned nttl;
};

static size_t unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s != '\0' && *s != '\n') {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r':
			out[n++] = '\r';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case '0':
			out[n++] = '\0';
			break;
		case 'x': {
			char hex[3] = {s[1], s[2], 0};

			out[n++] = (char)strtol(hex, NULL, 16);
			s += 2;
			break;
		}
		default:
			out[n++] = *s;
			break;
		}
		s++;
	}
	return n;
}

static void cas_remember(struct cas_map *m, const char *key, size_t klen, uint64_t cas)
{
	unsigned i;

	if (klen > PROTO_KEY_MAX)
		return;
	for (i = 0; i < m->n; i++)
		if (strlen(m->key[i]) == klen && memcmp(m->key[i], key, klen) == 0)
			break;
	if (i == m->n) {
		if (m->n == 64)
			return;
		m->n++;
		memcpy(m->key[i], key, klen);
		m->key[i][klen] = '\0';
	}
	m->cas[i] = cas;
}

static uint64_t cas_lookup(const struct cas_map *m, const char *key, size_t klen)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (strlen(m->key[i]) == klen && memcmp(m->key[i], key, klen) == 0)
			return m->cas[i];
	return 999999;
}

/* $CAS(key) -> that side's last CAS for key. */
static size_t expand(const char *in, size_t len, const struct cas_map *m, char *out)
{
	size_t i = 0, n = 0;

	while (i < len) {
		if (i + 5 < len && memcmp(in + i, "$CAS(", 5) == 0) {
			const char *end = memchr(in + i + 5, ')', len - i - 5);

			if (end != NULL) {
				n +=
				    (size_t)sprintf(out + n, "%llu",
						    (unsigned long long)cas_lookup(
							m, in + i + 5, (size_t)(end - in - i - 5)));
				i = (size_t)(end - in) + 1;
				continue;
			}
		}
		if (i + 6 < len && memcmp(in + i, "$FILL(", 6) == 0) {
			char *end;
			unsigned long count = strtoul(in + i + 6, &end, 10);

			if (*end == ',' && end[2] == ')') {
				memset(out + n, end[1], count);
				n += count;
				i = (size_t)(end + 3 - in);
				continue;
			}
		}
		out[n++] = in[i++];
	}
	return n;
}

static unsigned cas_label(struct side *sd, uint64_t cas)
{
	unsigned i;

	for (i = 0; i < sd->nseen; i++)
		if (sd->seen[i] == cas)
			return i + 1;
	if (sd->nseen < 4096)
		sd->seen[sd->nseen++] = cas;
	return sd->nseen;
}

/*
 * Rename CAS values (VALUE lines of gets/gats, meta c flags, me cas=) to C1,
 * C2... in order of appearance, remember them for $CAS, and mask me's item
 * internals. Works line by line on the reply; value bytes after VALUE/VA
 * lines are skipped by length.
 */
static size_t normalise(struct side *sd, const char *in, size_t len, char *out)
{
	size_t i = 0, n = 0;

	while (i < len) {
		const char *eol = memchr(in + i, '\n', len - i);
		size_t ll = eol ? (size_t)(eol - in - i) + 1 : len - i;
		const char *l = in + i;
		uint64_t skip = 0;

		if (ll > 8 && memcmp(l, "VERSION ", 8) == 0) {
			/* which release answers is not the protocol's business */
			n += (size_t)sprintf(out + n, "VERSION *\r\n");
			i += ll;
			continue;
		}
		if (ll > 6 && memcmp(l, "VALUE ", 6) == 0) {
			char key[PROTO_KEY_MAX + 1], text[PROTO_KEY_MAX + 80];
			unsigned flags, bytes;
			unsigned long long cas;
			int got;

			/* the line alone: sscanf must not read on into the value */
			memcpy(text, l, ll < sizeof(text) ? ll : sizeof(text) - 1);
			text[ll < sizeof(text) ? ll : sizeof(text) - 1] = '\0';
			got = sscanf(text, "VALUE %250s %u %u %llu", key, &flags, &bytes, &cas);

			skip = got >= 3 ? (uint64_t)bytes + 2 : 0;
			if (got == 4) {
				cas_remember(&sd->cas, key, strlen(key), cas);
				n += (size_t)sprintf(out + n, "VALUE %s %u %u C%u\r\n", key, flags,
						     bytes, cas_label(sd, cas));
				i += ll;
				memcpy(out + n, in + i, skip);
				n += skip;
				i += skip;
				continue;
			}
		} else if (ll > 3 && memcmp(l, "VA ", 3) == 0) {
			skip = strtoull(l + 3, NULL, 10) + 2;
		}
		if ((ll > 2 && (memcmp(l, "VA ", 3) == 0 || memcmp(l, "HD", 2) == 0 ||
				memcmp(l, "EN", 2) == 0 || memcmp(l, "NS", 2) == 0 ||
				memcmp(l, "EX", 2) == 0 || memcmp(l, "NF", 2) == 0)) ||
		    (ll > 3 && memcmp(l, "ME ", 3) == 0)) {
			/* token by token: c<digits>, cas=<digits>, k<key> */
			const char *key = NULL;
			size_t klen = 0, j = 0;
			uint64_t cas = 0;
			bool has_cas = false;

			while (j < ll) {
				size_t t = j;

				while (t < ll && l[t] != ' ' && l[t] != '\r')
					t++;
				if (j > 0 && l[j] == 'c' && t > j + 1 &&
				    isdigit((unsigned char)l[j + 1])) {
					cas = strtoull(l + j + 1, NULL, 10);
					has_cas = true;
					n += (size_t)sprintf(out + n, "cC%u", cas_label(sd, cas));
				} else if (t - j > 4 && memcmp(l + j, "cas=", 4) == 0) {
					cas = strtoull(l + j + 4, NULL, 10);
					n +=
					    (size_t)sprintf(out + n, "cas=C%u", cas_label(sd, cas));
				} else if ((j > 0 && l[j] == 't' && t > j + 1 &&
					    isdigit((unsigned char)l[j + 1])) ||
					   (t - j > 4 && memcmp(l + j, "exp=", 4) == 0 &&
					    (isdigit((unsigned char)l[j + 4]) ||
					     (l[j + 4] == '-' && t - j > 5)))) {
					/*
					 * remaining TTL (me's exp= is now - exptime,
					 * negative while alive): ttls_close() compares.
					 * One already past shows as memcached's 32-bit
					 * wrap, which depends on the server's uptime: !
					 */
					size_t p = l[j] == 't' ? j + 1 : j + 4;
					long ttl = strtol(l + p, NULL, 10);

					memcpy(out + n, l + j, p - j);
					n += p - j;
					if (ttl >= 0x80000000L) {
						out[n++] = '!';
					} else {
						if (sd->nttl < 64)
							sd->ttl[sd->nttl++] = ttl;
						out[n++] = '~';
					}
				} else if (j > 0 && l[j] == 'l' && t > j + 1 &&
					   isdigit((unsigned char)l[j + 1])) {
					n += (size_t)sprintf(out + n, "l*"); /* seconds: timing */
				} else if ((t - j > 3 && memcmp(l + j, "la=", 3) == 0) ||
					   (t - j > 4 && memcmp(l + j, "cls=", 4) == 0) ||
					   (t - j > 5 && memcmp(l + j, "size=", 5) == 0)) {
					const char *eq = memchr(l + j, '=', t - j);

					memcpy(out + n, l + j, (size_t)(eq - l - j) + 1);
					n += (size_t)(eq - l - j) + 1;
					out[n++] = '*';
				} else {
					if (j > 0 && l[j] == 'k') {
						key = l + j + 1;
						klen = t - j - 1;
					}
					memcpy(out + n, l + j, t - j);
					n += t - j;
				}
				j = t;
				while (j < ll && (l[j] == ' ' || l[j] == '\r' || l[j] == '\n'))
					out[n++] = l[j++];
			}
			if (has_cas && key != NULL)
				cas_remember(&sd->cas, key, klen, cas);
			i += ll;
			if (skip > len - i)
				skip = len - i;
			memcpy(out + n, in + i, skip);
			n += skip;
			i += skip;
			continue;
		}
		memcpy(out + n, l, ll);
		n += ll;
		i += ll;
	}
	return n;
}

/* The remaining TTLs of both replies pair up within one second. */
static bool ttls_close(const struct side *a, const struct side *b)
{
	unsigned i;

	if (a->nttl != b->nttl)
		return false;
	for (i = 0; i < a->nttl; i++)
		if (labs(a->ttl[i] - b->ttl[i]) > 1)
			return false;
	return true;
}

/* Connect to host:port over TCP (memcached, or dpcached on the wire). */
static int mc_connect(const char *host, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "not an IPv4 address: %s\n", host);
		exit(2);
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("connect");
		exit(2);
	}
	return fd;
}

static bool ends_with(const char *b, size_t n, const char *s)
{
	size_t l = strlen(s);

	return n >= l && memcmp(b + n - l, s, l) == 0;
}

/* Send a unit + sentinel, read until the sentinel's reply (or 2 s of silence). */
static size_t mc_roundtrip(int fd, const char *req, size_t len, char *reply)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t n = 0;

	if (write(fd, req, len) != (ssize_t)len || write(fd, SENTINEL, strlen(SENTINEL)) < 0)
		return 0;
	while (!ends_with(reply, n, SENTINEL_REPLY)) {
		ssize_t r;

		if (poll(&pfd, 1, 2000) <= 0)
			break;
		r = read(fd, reply + n, OUT_CAP - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	return ends_with(reply, n, SENTINEL_REPLY) ? n - strlen(SENTINEL_REPLY) : n;
}

static size_t dp_roundtrip(struct process_worker *w, struct process_conn *c, const char *req,
			   size_t len, char *reply, unsigned *seed)
{
	static char hdr[OUT_CAP];
	static struct iovec iov[65536];
	static char in[OUT_CAP];
	struct proto_out out;
	size_t total = len + strlen(SENTINEL), off = 0;
	long n;

	memcpy(in, req, len);
	memcpy(in + len, SENTINEL, strlen(SENTINEL));
	proto_out_init(&out, hdr, sizeof(hdr), iov, 65536);
	while (off < total) {
		size_t piece = 1 + (size_t)(rand_r(seed) % 64);
		/* each piece in its own buffer, as segments arrive */
		char *seg = malloc(piece);

		if (piece > total - off)
			piece = total - off;
		memcpy(seg, in + off, piece);
		if (process_input(w, c, seg, piece, (uint32_t)time(NULL), &out) == PROCESS_CLOSE) {
			free(seg);
			break;
		}
		free(seg);
		off += piece;
	}
	n = proto_out_flatten(&out, reply, OUT_CAP);
	if (n < 0)
		return 0;
	return ends_with(reply, (size_t)n, SENTINEL_REPLY) ? (size_t)n - strlen(SENTINEL_REPLY)
							   : (size_t)n;
}

static void print_escaped(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 600; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '\r')
			printf("\\r");
		else if (ch == '\n')
			printf("\\n");
		else if (ch < 32 || ch >= 127)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	if (n > 600)
		printf("...(%zu bytes)", n);
}

int main(int argc, char **argv)
{
	static char unit[OUT_CAP], req[OUT_CAP], a[OUT_CAP], b[OUT_CAP], na[OUT_CAP], nb[OUT_CAP];
	static struct side mc_side, dp_side;
	struct store_config cfg = {.limit_bytes = 64u << 20};
	struct process_worker w = {.version = "1.6.18"};
	struct process_conn *conn = malloc(sizeof(*conn));
	char *line = NULL;
	size_t cap = 0;
	unsigned seed = 1, tests = 0, failed = 0;
	bool verbose = getenv("PROTO_DIFF_VERBOSE") != NULL;
	FILE *f;
	int fd, wire_fd = -1;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s PORT SESSION [DPCACHED_HOST:PORT]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN); /* a closed server shows as a failed unit */
	f = fopen(argv[2], "r");
	if (f == NULL || store_setup(&cfg, &w.store) != 0) {
		perror("setup");
		return 2;
	}
	w.thread = store_thread(w.store, 0);
	process_conn_init(conn, NULL);
	fd = mc_connect(getenv("MEMCACHED_HOST") ? getenv("MEMCACHED_HOST") : "127.0.0.1",
			atoi(argv[1]));
	if (argc == 4) {
		/* dpcache over the wire: HOST:PORT of a dpcached */
		char host[64];
		const char *colon = strchr(argv[3], ':');

		if (colon == NULL || (size_t)(colon - argv[3]) >= sizeof(host)) {
			fprintf(stderr, "usage: %s PORT SESSION [DPCACHED_HOST:PORT]\n", argv[0]);
			return 2;
		}
		memcpy(host, argv[3], (size_t)(colon - argv[3]));
		host[colon - argv[3]] = '\0';
		wire_fd = mc_connect(host, atoi(colon + 1));
	}
	while (getline(&line, &cap, f) > 0) {
		size_t ulen, la, lb, lna, lnb;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		ulen = unescape(line, unit);
		la = mc_roundtrip(fd, req, expand(unit, ulen, &mc_side.cas, req), a);
		if (wire_fd >= 0)
			lb = mc_roundtrip(wire_fd, req, expand(unit, ulen, &dp_side.cas, req), b);
		else
			lb = dp_roundtrip(&w, conn, req, expand(unit, ulen, &dp_side.cas, req), b,
					  &seed);
		mc_side.nttl = dp_side.nttl = 0;
		lna = normalise(&mc_side, a, la, na);
		lnb = normalise(&dp_side, b, lb, nb);
		tests++;
		if (lna == lnb && memcmp(na, nb, lna) == 0 && ttls_close(&mc_side, &dp_side)) {
			printf("ok %u - ", tests);
			print_escaped(unit, ulen < 60 ? ulen : 60);
			printf("\n");
			if (verbose) {
				printf("#   request:   ");
				print_escaped(unit, ulen);
				printf("\n#   replies:   ");
				print_escaped(na, lna);
				printf("\n");
			}
			continue;
		}
		failed++;
		printf("not ok %u - ", tests);
		print_escaped(unit, ulen < 60 ? ulen : 60);
		printf("\n#   request:   ");
		print_escaped(unit, ulen);
		printf("\n#   memcached: ");
		print_escaped(na, lna);
		printf("\n#   dpcache:   ");
		print_escaped(nb, lnb);
		printf("\n#   TTLs (~):  ");
		for (unsigned k = 0; k < mc_side.nttl; k++)
			printf("%ld ", mc_side.ttl[k]);
		printf("vs ");
		for (unsigned k = 0; k < dp_side.nttl; k++)
			printf("%ld ", dp_side.ttl[k]);
		printf("\n");
	}
	printf("1..%u\n", tests);
	fprintf(stderr, "%u units, %u differ\n", tests, failed);
	close(fd);
	if (wire_fd >= 0)
		close(wire_fd);
	process_conn_close(&w, conn);
	store_teardown(w.store, false);
	free(conn);
	free(line);
	fclose(f);
	return failed == 0 ? 0 : 1;
}
