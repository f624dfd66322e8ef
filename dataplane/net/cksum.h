/*
 * Internet checksums in software, for ports without checksum offload. The
 * sum is the ones'-complement sum of 16-bit words in memory order (as
 * rte_raw_cksum sums them), carried in 64 bits and folded at the end; 32-bit
 * pieces may be added as they are, since 2^16 and 2^32 are both 1 modulo
 * 0xffff. The bulk of a buffer goes 16 bytes a step through SSE2 when the
 * target has it (every x86-64 does), about half an instruction a byte.
 */
#ifndef DPCACHE_NET_CKSUM_H
#define DPCACHE_NET_CKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


/* Add the 16-bit words of buf[0..len) to `sum` (an odd last byte as its low half). */
static inline uint64_t net_cksum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t w;
	uint32_t v;
	uint16_t h;

#if defined(__SSE2__)
	if (len >= 32) {
		const __m128i zero = _mm_setzero_si128();
		uint32_t lane[4];

		while (len >= 32) {
			/* each 32-bit lane takes at most 2 * 0xffff per step: flush
			 * well before 2^32 (every 64 KB) */
			size_t steps = len / 32 < 2048 ? len / 32 : 2048;
			__m128i a = zero, b = zero;

			len -= steps * 32;
			for (; steps > 0; steps--, p += 32) {
				__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
				__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));

				a = _mm_add_epi32(a, _mm_unpacklo_epi16(x, zero));
				b = _mm_add_epi32(b, _mm_unpackhi_epi16(x, zero));
				a = _mm_add_epi32(a, _mm_unpacklo_epi16(y, zero));
				b = _mm_add_epi32(b, _mm_unpackhi_epi16(y, zero));
			}
			_mm_storeu_si128((__m128i *)(void *)lane, _mm_add_epi32(a, b));
			sum += (uint64_t)lane[0] + lane[1] + lane[2] + lane[3];
		}
		if (len >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);

			x = _mm_add_epi32(_mm_unpacklo_epi16(x, zero), _mm_unpackhi_epi16(x, zero));
			_mm_storeu_si128((__m128i *)(void *)lane, x);
			sum += (uint64_t)lane[0] + lane[1] + lane[2] + lane[3];
			p += 16;
			len -= 16;
		}
	}
#endif
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);
		sum += (w & 0xffffffff) + (w >> 32);
	}
	if (len >= 4) {
		memcpy(&v, p, 4);
		sum += v;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		h = 0;
		memcpy(&h, p, 1);
		sum += h;
	}
	return sum;
}

/*
 * net_cksum_add for a buffer followed by zeros up to the next multiple of
 * NET_CKSUM_PAD bytes (the caller wrote them: a packet's tailroom): whole
 * steps only, no tail to pick apart. Zeros add nothing, and an
 * odd last byte is summed as the first byte of a zero-padded word, as the
 * checksum's definition wants.
 */
#define NET_CKSUM_PAD 32

static inline uint64_t net_cksum_add_padded(uint64_t sum, const void *buf, size_t len)
{
#if defined(__x86_64__)
	/*
	 * 64-bit words in one add-with-carry chain, the carry folded back in at
	 * the end of each step: ones'-complement addition of 64-bit words, which
	 * keeps the 16-bit sum (2^64 is 1 modulo 0xffff). Five instructions for
	 * 32 bytes; compilers do not make this chain from C.
	 */
	const uint8_t *p = buf, *end = p + len;
	uint64_t s = sum;

	for (; p < end; p += NET_CKSUM_PAD)
		__asm__("addq 0(%[p]), %[s]\n\t"
			"adcq 8(%[p]), %[s]\n\t"
			"adcq 16(%[p]), %[s]\n\t"
			"adcq 24(%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(s)
			: [p] "r"(p), "m"(*(const uint8_t(*)[NET_CKSUM_PAD])p)
			: "cc");
	return (s & 0xffffffff) + (s >> 32);
#elif defined(__aarch64__)
	/* 64-bit words, the carries counted apart (2^64 is 1 modulo 0xffff) */
	const uint8_t *p = buf, *end = p + len;
	uint64_t s = sum, c = 0, w0, w1, w2, w3;

	for (; p < end; p += NET_CKSUM_PAD) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		s += w0;
		c += s < w0;
		s += w1;
		c += s < w1;
		s += w2;
		c += s < w2;
		s += w3;
		c += s < w3;
	}
	s += c;
	c = s < c;
	return c + (s & 0xffffffff) + (s >> 32);
#else
	return net_cksum_add(sum, buf, len);
#endif
}

/* Fold a sum to 16 bits (not complemented). */
static inline uint16_t net_cksum_fold(uint64_t sum)
{
	uint32_t lo = (uint32_t)sum, s = lo + (uint32_t)(sum >> 32);

	s += s < lo; /* the end-around carry */
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

#endif
