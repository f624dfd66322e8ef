#include "udp_get.h"

#include <string.h>

/* "VALUE " key " " flags " " bytes " " cas "\r\n" at its longest */
#define VALUE_LINE_MAX (6 + PROTO_KEY_MAX + 1 + 10 + 1 + 10 + 1 + 20 + 2)

static const char digit_pairs[201] = "00010203040506070809"
				     "10111213141516171819"
				     "20212223242526272829"
				     "30313233343536373839"
				     "40414243444546474849"
				     "50515253545556575859"
				     "60616263646566676869"
				     "70717273747576777879"
				     "80818283848586878889"
				     "90919293949596979899";

/* Write v in decimal at p; returns the end. */
static inline char *put_u64(char *p, uint64_t v)
{
	unsigned n = 1;
	char *e;

	for (uint64_t x = v; x >= 10; x /= 10)
		n++;
	e = p + n;
	while (v >= 100) {
		e -= 2;
		memcpy(e, digit_pairs + (v % 100) * 2, 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(e - 2, digit_pairs + v * 2, 2);
	else
		e[-1] = (char)('0' + v);
	return p + n;
}

/* The same for the small numbers of most replies (flags, value lengths). */
static inline char *put_u32(char *p, uint32_t v)
{
	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	if (v < 100) {
		memcpy(p, digit_pairs + v * 2, 2);
		return p + 2;
	}
	if (v < 1000) {
		*p = (char)('0' + v / 100);
		memcpy(p + 1, digit_pairs + (v % 100) * 2, 2);
		return p + 3;
	}
	return put_u64(p, v);
}

static inline char *value_line(char *p, struct proto_span key, const struct store_value *v,
			       bool cas)
{
	memcpy(p, "VALUE ", 6);
	p += 6;
	udp_copy_short(p, key.p, key.len);
	p += key.len;
	*p++ = ' ';
	p = put_u32(p, v->flags);
	*p++ = ' ';
	p = put_u32(p, v->value_len);
	if (cas) {
		*p++ = ' ';
		p = put_u64(p, v->cas);
	}
	memcpy(p, "\r\n", 2);
	return p + 2;
}

/*
 * One key's block, written where it starts (a read that starts over comes
 * back there): the VALUE line, the value, "\r\n". Mostly all of it fits the
 * current datagram and goes in place.
 */
struct get_ctx {
	struct udp_reply *r;
	struct udp_reply_mark mark;
	struct proto_span key;
	bool cas;
};

/* put_value when the block does not fit the current datagram: written in pieces. */
static __attribute__((noinline)) int put_value_split(struct get_ctx *g, const struct store_value *v)
{
	char line[VALUE_LINE_MAX];
	size_t n = (size_t)(value_line(line, g->key, v, g->cas) - line);

	udp_reply_write(g->r, line, n);
	udp_reply_write(g->r, v->data, v->value_len);
	return udp_reply_write(g->r, "\r\n", 2);
}

static int put_value(void *ctx, const struct store_value *v)
{
	struct get_ctx *g = ctx;
	struct udp_reply *r = g->r;
	char *p, *e;

	udp_reply_rewind(r, &g->mark);
	p = udp_reply_reserve(r, VALUE_LINE_MAX + (size_t)v->value_len + 2);
	if (unlikely(p == NULL))
		return put_value_split(g, v);
	e = value_line(p, g->key, v, g->cas);
	memcpy(e, v->data, v->value_len);
	memcpy(e + v->value_len, "\r\n", 2);
	udp_reply_commit(r, (size_t)(e - p) + v->value_len + 2);
	return 0;
}

int udp_get_reply(struct store_thread *t, struct udp_reply *r, const struct proto_span *keys,
		  unsigned nkeys, bool cas, uint32_t now)
{
	struct get_ctx g;

	g.r = r;
	g.cas = cas;
	for (unsigned i = 0; i < nkeys; i++) {
		g.key = keys[i];
		udp_reply_mark(r, &g.mark);
		if (store_get_value(t, keys[i].p, keys[i].len, now, put_value, &g) != STORE_OK)
			udp_reply_rewind(r, &g.mark);
	}
	return udp_reply_write(r, "END\r\n", 5);
}
