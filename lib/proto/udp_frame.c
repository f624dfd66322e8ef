/*
 * The UDP frame header and the reply splitter. Sequence numbers and the
 * datagram count are fixed before the first datagram goes out, so the
 * splitter knows the total up front; payloads are spans into the reply, never
 * copies.
 */
#include <errno.h>
#include <string.h>

#include "dpcache/proto_udp.h"

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void proto_udp_write_hdr(void *dst, const struct proto_udp_hdr *hdr)
{
	uint8_t *p = dst;

	put_be16(p, hdr->req_id);
	put_be16(p + 2, hdr->seq);
	put_be16(p + 4, hdr->count);
	put_be16(p + 6, hdr->reserved);
}

int proto_udp_split_init(struct proto_udp_splitter *s, uint16_t req_id, const struct iovec *iov,
			 unsigned iov_cnt, size_t total, size_t max_payload)
{
	size_t count;

	memset(s, 0, sizeof(*s));
	s->max = max_payload != 0 ? max_payload : PROTO_UDP_PAYLOAD_MAX;
	count = total == 0 ? 1 : (total + s->max - 1) / s->max;
	if (count > UINT16_MAX)
		return -EMSGSIZE;
	s->iov = iov;
	s->iov_cnt = iov_cnt;
	s->left = total;
	s->req_id = req_id;
	s->count = (uint16_t)count;
	return (int)count;
}

long proto_udp_split_next(struct proto_udp_splitter *s, uint8_t hdr[PROTO_UDP_HDR_LEN],
			  struct iovec *out, unsigned out_max, unsigned *out_cnt)
{
	size_t want, got = 0, off = s->off;
	unsigned idx = s->idx, n = 0;

	*out_cnt = 0;
	if (s->seq >= s->count)
		return 0;
	want = s->left < s->max ? s->left : s->max;
	while (got < want) {
		size_t take;

		if (idx >= s->iov_cnt)
			break; /* the iovecs hold less than `total` said */
		take = s->iov[idx].iov_len - off;
		if (take == 0) {
			idx++;
			off = 0;
			continue;
		}
		if (n == out_max)
			return -ENOSPC;
		if (take > want - got)
			take = want - got;
		out[n].iov_base = (char *)s->iov[idx].iov_base + off;
		out[n].iov_len = take;
		n++;
		got += take;
		off += take;
	}
	proto_udp_put_reply_hdr(hdr, s->req_id, s->seq, s->count);
	s->idx = idx;
	s->off = off;
	s->left -= got;
	s->seq++;
	*out_cnt = n;
	return (long)got;
}
