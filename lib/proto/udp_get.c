/*
 * The UDP read path's line scanner. A get datagram is nearly always one
 * "get <key>\r\n" or "gets k1 k2 ...\r\n"; the general parser reaches its
 * keys through tokenizing, command lookup and a key iterator, several hundred
 * instructions a request. This scanner recognises only that form, in one
 * pass, and declines everything else (0): the caller then runs the general
 * parser, so unusual input still gets memcached's exact answer.
 *
 * Keys end at ' ', '\r', '\n' or NUL. memcached would take a '\r' inside a key
 * as part of it and end the line at a NUL: both make the scanner decline.
 */
#include <string.h>

#include "dpcache/proto_udp.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline int is_delim(unsigned char c)
{
	return c == ' ' || c == '\r' || c == '\n' || c == '\0';
}

/*
 * The first delimiter in [p, end), or end. All four delimiters are bytes up
 * to ' ', so 16 bytes at a time are tested for that (one unsigned minimum and
 * a compare); a candidate that is none of them (a tab in a key) is stepped
 * over.
 */
static inline const char *find_delim(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i space = _mm_set1_epi8(' ');

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned bits = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_min_epu8(v, space), v));

		while (bits != 0) {
			const char *c = p + __builtin_ctz(bits);

			if (is_delim((unsigned char)*c))
				return c;
			bits &= bits - 1;
		}
		p += 16;
	}
#endif
	while (p < end && !is_delim((unsigned char)*p))
		p++;
	return p;
}

unsigned proto_udp_get_scan(const char *buf, size_t len, bool *cas, struct proto_span *keys,
			    unsigned max)
{
	const char *p = buf, *end = buf + len;
	unsigned n = 0;

	/* the line ends with the datagram: "\n", or "\r\n" (one '\r' is dropped) */
	if (len < 6 || end[-1] != '\n')
		return 0;
	end--;
	if (end[-1] == '\r')
		end--;
	if (memcmp(p, "get ", 4) == 0) {
		*cas = false;
		p += 4;
	} else if (len >= 7 && memcmp(p, "gets ", 5) == 0) {
		*cas = true;
		p += 5;
	} else {
		return 0;
	}
	for (;;) {
		const char *k;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return n;
		k = p;
		p = find_delim(p, end);
		if (p < end && *p != ' ')
			return 0; /* '\r', '\n' or NUL inside the line */
		if (p - k > PROTO_KEY_MAX || n == max)
			return 0;
		keys[n].p = k;
		keys[n].len = (uint32_t)(p - k);
		n++;
	}
}
