#include "flow.h"

#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_flow.h>

/* One port's rules; dpcached drives one data port. */
#define FLOW_RULES_MAX 128

static struct rte_flow *rules[FLOW_RULES_MAX];
static unsigned int nb_rules;
static uint16_t rules_port;

const char *flow_steering_name(enum flow_steering s)
{
	switch (s) {
	case FLOW_STEER_SINGLE:
		return "single";
	case FLOW_STEER_NONE:
		return "none";
	case FLOW_STEER_FLOW:
		return "flow";
	case FLOW_STEER_OFF:
		break;
	}
	return "off";
}

/* ETH / IPV4 dst=ip / UDP dst=port -> QUEUE queue. */
static struct rte_flow *flow_rule(uint16_t port_id, uint32_t ip, uint16_t port, uint16_t queue,
				  struct rte_flow_error *err)
{
	const struct rte_flow_attr attr = {.ingress = 1};
	const struct rte_flow_item_ipv4 ip_spec = {.hdr.dst_addr = ip};
	const struct rte_flow_item_ipv4 ip_mask = {.hdr.dst_addr = RTE_BE32(0xffffffff)};
	const struct rte_flow_item_udp udp_spec = {.hdr.dst_port = rte_cpu_to_be_16(port)};
	const struct rte_flow_item_udp udp_mask = {.hdr.dst_port = RTE_BE16(0xffff)};
	const struct rte_flow_item pattern[] = {
		{.type = RTE_FLOW_ITEM_TYPE_ETH},
		{.type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec, .mask = &ip_mask},
		{.type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp_spec, .mask = &udp_mask},
		{.type = RTE_FLOW_ITEM_TYPE_END},
	};
	const struct rte_flow_action_queue to = {.index = queue};
	const struct rte_flow_action actions[] = {
		{.type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &to},
		{.type = RTE_FLOW_ACTION_TYPE_END},
	};

	if (rte_flow_validate(port_id, &attr, pattern, actions, err) != 0)
		return NULL;
	return rte_flow_create(port_id, &attr, pattern, actions, err);
}

enum flow_steering flow_steer_partitions(uint16_t port_id, uint32_t ip, uint16_t base,
					 uint16_t n, char *why, size_t whylen)
{
	struct rte_flow_error err = {0};

	if (whylen > 0)
		why[0] = '\0';
	if (base == 0 || n == 0)
		return FLOW_STEER_OFF;
	if (n == 1)
		return FLOW_STEER_SINGLE;
	flow_unsteer(port_id);
	if (n > FLOW_RULES_MAX) {
		snprintf(why, whylen, "more than %u partitions", FLOW_RULES_MAX);
		return FLOW_STEER_NONE;
	}
	rules_port = port_id;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_flow *f = flow_rule(port_id, ip, (uint16_t)(base + i), i, &err);

		if (f == NULL) {
			snprintf(why, whylen, "rte_flow: %s",
				 err.message != NULL ? err.message : "rule refused");
			flow_unsteer(port_id);
			return FLOW_STEER_NONE;
		}
		rules[nb_rules++] = f;
	}
	return FLOW_STEER_FLOW;
}

void flow_unsteer(uint16_t port_id)
{
	struct rte_flow_error err;

	if (port_id != rules_port)
		return;
	while (nb_rules > 0)
		rte_flow_destroy(port_id, rules[--nb_rules], &err);
}
