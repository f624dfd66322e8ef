/*
 * libFuzzer target: any bytes as an Ethernet frame through net_input and, for
 * UDP, udp_input. The stack must never read or write outside the frame, and a
 * reply must fit the buffer it was built in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "net/udp.h"

#define FRAME_MAX 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct net_iface ifc = {
		.mac = {{0x02, 0, 0, 0, 0, 0x02}},
		.ip = 0x020012c6,      /* 198.18.0.2 */
		.netmask = 0x00ffffff, /* /24 */
	};
	struct udp_config udp = {.port = 11211, .port_base = 20000, .nb_part_ports = 4,
				 .allow = {.n = 1, .net = {{0x000012c6, 0x00ffffff}}}};
	struct net_counters c = {0};
	struct udp_dgram d;
	uint8_t *frame;
	uint16_t len;

	if (size > FRAME_MAX)
		return 0;
	/* An exact-size heap copy, so ASan sees any read past the frame. */
	frame = malloc(size > 0 ? size : 1);
	if (frame == NULL)
		return 0;
	memcpy(frame, data, size);
	len = (uint16_t)size;
	switch (net_input(&ifc, &c, frame, &len)) {
	case NET_REPLY:
		if (len > size)
			__builtin_trap();
		break;
	case NET_UDP:
		if (len > size)
			__builtin_trap();
		if (udp_input(&udp, &c, frame, len, &d) == NET_UDP &&
		    d.payload + d.len > frame + len)
			__builtin_trap();
		break;
	case NET_TCP:
	case NET_DROP:
		break;
	}
	free(frame);
	return 0;
}
