/*
 * libFuzzer target: a UDP request datagram, as the server sees one.
 *
 * The frame header is parsed; an accepted datagram's payload goes through a
 * fresh parser in UDP mode; every request gets a reply (values echo the
 * request bytes, so large replies happen), and the reply is split into
 * datagrams. Checked: the split reassembles to exactly the reply, every
 * header carries the request id, seq 0..count-1 and the same count, and no
 * payload exceeds the limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/proto.h"
#include "dpcache/proto_udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out_buf[1 << 16];
static struct iovec out_iov[4096];
static char flat[1 << 18];
static char again[1 << 18];

static void reply_to(struct proto_out *o, const struct proto_request *r, const char *payload,
		     size_t plen)
{
	struct proto_span k;
	uint32_t pos = 0;

	switch (r->cmd) {
	case PROTO_CMD_GET:
	case PROTO_CMD_GETS:
		while (proto_key_next(r, &pos, &k))
			proto_compose_value(o, k, 0, payload, (uint32_t)plen,
					    r->cmd == PROTO_CMD_GETS, pos);
		proto_compose_reply(o, NULL, PROTO_R_END);
		break;
	case PROTO_CMD_MG: {
		struct proto_meta_item it = {.key = r->key,
					     .key_binary = r->meta.key_binary,
					     .value = payload,
					     .value_len = (uint32_t)plen};

		proto_compose_meta(o, r, PROTO_META_VA, &it);
		break;
	}
	case PROTO_CMD_MN:
		proto_compose_reply(o, NULL, PROTO_R_MN);
		break;
	default:
		proto_compose_reply(o, r, PROTO_R_STORED);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[PROTO_LINE_BUF_DEFAULT];
	struct proto_config cfg = {.udp = true};
	struct proto_udp_hdr h;
	struct proto_udp_splitter s;
	struct proto_parser p;
	struct proto_out o;
	const char *payload;
	size_t plen, off = 0, maxp;
	long n, total;
	int count;
	uint16_t seq = 0;

	if (proto_udp_parse(data, size, &h, &payload, &plen) != 0)
		return 0;
	/* a request fits one datagram: no line buffer, a split line is dropped */
	proto_parser_init(&p, &cfg, line, 0);
	proto_out_init(&o, out_buf, sizeof(out_buf), out_iov, 4096);
	while (off < plen) {
		struct proto_request r;
		size_t used = 0;
		enum proto_event ev = proto_parse(&p, payload + off, plen - off, &used, &r);

		off += used;
		if (ev == PROTO_EV_NEED_MORE || ev == PROTO_EV_CLOSE)
			break;
		if (ev == PROTO_EV_REQUEST && !r.value_partial)
			reply_to(&o, &r, payload, plen);
		else if (ev == PROTO_EV_ERROR)
			proto_compose_error(&o, &r);
	}
	if (o.error != 0 || o.total == 0)
		return 0;
	total = proto_out_flatten(&o, flat, sizeof(flat));
	if (total < 0)
		return 0;
	maxp = 1 + (h.reserved % 2000);
	count = proto_udp_split_init(&s, h.req_id, out_iov, o.iov_cnt, o.total, maxp);
	if (count < 0)
		return 0;
	off = 0;
	for (;;) {
		uint8_t hdr[PROTO_UDP_HDR_LEN];
		struct iovec piece[64];
		unsigned cnt, i;
		struct proto_udp_hdr back;

		n = proto_udp_split_next(&s, hdr, piece, 64, &cnt);
		if (n == -ENOSPC)
			return 0; /* a reply of many tiny iovecs: fine, the caller retries */
		if (n == 0)
			break;
		if ((size_t)n > maxp)
			abort();
		back.req_id = (uint16_t)(hdr[0] << 8 | hdr[1]);
		back.seq = (uint16_t)(hdr[2] << 8 | hdr[3]);
		back.count = (uint16_t)(hdr[4] << 8 | hdr[5]);
		if (back.req_id != h.req_id || back.seq != seq || back.count != count)
			abort();
		for (i = 0; i < cnt; i++) {
			memcpy(again + off, piece[i].iov_base, piece[i].iov_len);
			off += piece[i].iov_len;
		}
		seq++;
	}
	if (seq != count || off != (size_t)total || memcmp(again, flat, off) != 0)
		abort();
	return 0;
}
