/* The get reply's rare case, out of line; the rest is inline in udp_get.h. */
#include "udp_get.h"

int udp_put_value_split(struct udp_get_ctx *g, const struct store_value *v)
{
	char line[UDP_VALUE_LINE_MAX];
	size_t n = (size_t)(udp_value_line(line, g->key, v, g->cas) - line);

	udp_reply_write(g->r, line, n);
	udp_reply_write(g->r, v->data, v->value_len);
	return udp_reply_write(g->r, "\r\n", 2);
}
