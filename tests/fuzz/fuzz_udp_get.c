/*
 * libFuzzer target: the UDP read path's line scanner (proto_udp_get_scan),
 * differentially against the general parser.
 *
 * The input is a request datagram's payload. Checked: every key the scanner
 * hands out lies inside the input and is 1..PROTO_KEY_MAX bytes; and whatever
 * it accepts, the general parser in UDP mode reads as exactly one get (or
 * gets) request over the whole input with the same keys in the same order
 * (the shortcut must never answer a datagram differently from the executor).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/proto.h"
#include "dpcache/proto_udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proto_span keys[PROTO_UDP_GET_KEYS_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct proto_config cfg = {.udp = true};
	struct proto_parser p;
	struct proto_request req;
	struct proto_span k;
	uint32_t pos = 0;
	size_t used = 0;
	unsigned n, i = 0;
	bool cas = false;

	n = proto_udp_get_scan(s, size, &cas, keys, PROTO_UDP_GET_KEYS_MAX);
	if (n == 0)
		return 0;
	if (n > PROTO_UDP_GET_KEYS_MAX)
		abort();
	for (unsigned j = 0; j < n; j++)
		if (keys[j].p < s || keys[j].len == 0 || keys[j].len > PROTO_KEY_MAX ||
		    keys[j].p + keys[j].len > s + size)
			abort();
	proto_parser_init(&p, &cfg, NULL, 0);
	if (proto_parse(&p, s, size, &used, &req) != PROTO_EV_REQUEST || used != size ||
	    req.cmd != (cas ? PROTO_CMD_GETS : PROTO_CMD_GET))
		abort();
	while (proto_key_next(&req, &pos, &k)) {
		if (i >= n || k.len != keys[i].len || memcmp(k.p, keys[i].p, k.len) != 0)
			abort();
		i++;
	}
	if (i != n)
		abort();
	return 0;
}
