/*
 * Base64 for the meta protocol's b flag, decoding the way memcached's
 * base64.c (after Jouni Malinen's) does: characters outside the alphabet are
 * skipped, the first padded block ends the input, and a count of alphabet
 * characters that is not a multiple of four fails. Keys that clients send
 * therefore decode to the same bytes on both servers.
 */
#include <stdint.h>
#include <string.h>

#include "dpcache/proto.h"

static const char b64_table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define B64_NONE 0x80

static uint8_t b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (uint8_t)(c - '0' + 52);
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '=')
		return 0;
	return B64_NONE;
}

size_t proto_base64_decode(const char *src, size_t len, char *dst, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src;
	unsigned char *pos = (unsigned char *)dst;
	uint8_t block[4];
	size_t i, count = 0;
	int pad = 0;

	for (i = 0; i < len; i++)
		if (b64_value(s[i]) != B64_NONE)
			count++;
	if (count == 0 || count % 4 != 0 || count / 4 * 3 > cap)
		return 0;
	count = 0;
	for (i = 0; i < len; i++) {
		uint8_t v = b64_value(s[i]);

		if (v == B64_NONE)
			continue;
		if (s[i] == '=')
			pad++;
		block[count++] = v;
		if (count < 4)
			continue;
		*pos++ = (unsigned char)((block[0] << 2) | (block[1] >> 4));
		*pos++ = (unsigned char)((block[1] << 4) | (block[2] >> 2));
		*pos++ = (unsigned char)((block[2] << 6) | block[3]);
		count = 0;
		if (pad == 0)
			continue;
		if (pad > 2)
			return 0;
		pos -= pad;
		break;
	}
	return (size_t)(pos - (unsigned char *)dst);
}

size_t proto_base64_encode(const char *src, size_t len, char *dst, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t need = (len + 2) / 3 * 4;
	size_t i, o = 0;

	if (need > cap)
		return 0;
	for (i = 0; i + 2 < len; i += 3) {
		dst[o++] = b64_table[s[i] >> 2];
		dst[o++] = b64_table[((s[i] & 0x03) << 4) | (s[i + 1] >> 4)];
		dst[o++] = b64_table[((s[i + 1] & 0x0f) << 2) | (s[i + 2] >> 6)];
		dst[o++] = b64_table[s[i + 2] & 0x3f];
	}
	if (i < len) {
		dst[o++] = b64_table[s[i] >> 2];
		if (i + 1 == len) {
			dst[o++] = b64_table[(s[i] & 0x03) << 4];
			dst[o++] = '=';
		} else {
			dst[o++] = b64_table[((s[i] & 0x03) << 4) | (s[i + 1] >> 4)];
			dst[o++] = b64_table[(s[i + 1] & 0x0f) << 2];
		}
		dst[o++] = '=';
	}
	return o;
}
