/*
 * dpcached's own options (the arguments after `--`), declared once in
 * DP_OPTIONS: the table drives parsing, `--help` and, later, `stats settings`.
 */
#ifndef DPCACHE_OPTIONS_H
#define DPCACHE_OPTIONS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <rte_ether.h>

enum dp_option_type {
	DP_OPT_IPV4_PREFIX, /* struct dp_ipv4_prefix */
	DP_OPT_MAC,	    /* struct rte_ether_addr, with a "set" flag */
	DP_OPT_STRING,	    /* char[DP_OPT_STRING_MAX] */
	DP_OPT_UINT,	    /* unsigned int, bounded by the table's max */
	DP_OPT_CIDR_LIST,   /* struct dp_cidr_list: CIDR[,CIDR...] */
	DP_OPT_SIZE,	    /* unsigned int bytes, with an optional k or m suffix */
};

#define DP_OPT_STRING_MAX 108 /* sizeof(sun_path) */

struct dp_ipv4_prefix {
	uint32_t addr;	  /* network order */
	uint32_t netmask; /* network order */
	uint8_t len;
	int set;
};

#define DP_CIDR_LIST_MAX 16

struct dp_cidr_list {
	unsigned int n;
	struct dp_ipv4_prefix e[DP_CIDR_LIST_MAX];
};

struct dp_mac {
	struct rte_ether_addr addr;
	int set;
};

/*
 * X(field, short flag or 0, type, default, max, metavar, help). Flags are the
 * field names with hyphens; memcached's short flags where memcached has one.
 */
#define DP_OPTIONS(X)                                                                              \
	X(ip, 0, DP_OPT_IPV4_PREFIX, NULL, 0, "ADDR/PREFIX",                                       \
	  "IPv4 address and prefix length of the data port (required)")                           \
	X(mac, 0, DP_OPT_MAC, NULL, 0, "MAC",                                                      \
	  "Ethernet address of the data port (default: the port's own)")                           \
	X(admin_socket, 0, DP_OPT_STRING, "/run/dpcached.sock", 0, "PATH",                         \
	  "Unix socket for dpcachectl, created with mode 0660")                                    \
	X(port, 0, DP_OPT_UINT, "0", 1023, "ID", "DPDK port id of the data port")                 \
	X(tcp_port, 'p', DP_OPT_UINT, "11211", 65535, "PORT", "TCP port for memcache (0: off)")    \
	X(max_conns, 'c', DP_OPT_UINT, "1024", 1048576, "N",                                       \
	  "most TCP connections at once, shared out among the workers")                           \
	X(rx_queues, 0, DP_OPT_UINT, "0", 1024, "N",                                               \
	  "RX queues (0: one per worker); fewer, or a port without RSS: connections spread in software") \
	X(udp_port, 'U', DP_OPT_UINT, "11211", 65535, "PORT", "UDP port for memcache (0: off)")    \
	X(udp_port_base, 0, DP_OPT_UINT, "0", 65535, "PORT",                                        \
	  "UDP ports PORT..PORT+workers-1, one per partition, steered to its owner (0: off)")     \
	X(udp_allow, 0, DP_OPT_CIDR_LIST, NULL, 0, "CIDR[,CIDR...]",                               \
	  "sources that UDP answers (amplification guard; default: the --ip subnet)")             \
	X(udp_reply_ratio, 0, DP_OPT_UINT, "0", 1000000, "N",                                        \
	  "amplification limit: a UDP reply larger than N times its request is refused (0: none)")  \
	X(udp_writes, 0, DP_OPT_UINT, "0", 1, "0|1",                                               \
	  "1: every command over UDP; 0: only get, gets, mg and mn (reads cannot amplify writes)") \
	X(memory_limit, 'm', DP_OPT_UINT, "64", 1048576, "MB",                                      \
	  "memory for items in megabytes (a hard limit)")                                          \
	X(item_size_max, 'I', DP_OPT_SIZE, "1m", 128 << 20, "BYTES",                               \
	  "largest item (key + value + header), with k or m suffix; from 1k")                      \
	X(memory_file, 0, DP_OPT_STRING, "", 0, "PATH",                                            \
	  "keep the cache in this file (on hugetlbfs for hugepages) so a restart re-attaches")     \
	X(zk, 0, DP_OPT_STRING, "", 0, "HOSTS",                                                    \
	  "register in ZooKeeper (h1:2181,h2:2181) as ROOT/servers/IP:PORT while running")        \
	X(zk_root, 0, DP_OPT_STRING, "/dpcache", 0, "PATH", "parent znode, as dpcache-ctld's")     \
	X(idle_sleep, 0, DP_OPT_UINT, "0", 100000, "USEC",                                         \
	  "when idle, wait for an RX interrupt (at most USEC, in whole ms) or, where the port "     \
	  "has none, sleep USEC between polls (0: busy poll)")

#define DP_OPT_CTYPE_DP_OPT_IPV4_PREFIX struct dp_ipv4_prefix
#define DP_OPT_CTYPE_DP_OPT_MAC struct dp_mac
#define DP_OPT_CTYPE_DP_OPT_STRING char
#define DP_OPT_CTYPE_DP_OPT_UINT unsigned int
#define DP_OPT_CTYPE_DP_OPT_CIDR_LIST struct dp_cidr_list
#define DP_OPT_CTYPE_DP_OPT_SIZE unsigned int
#define DP_OPT_ARRAY_DP_OPT_IPV4_PREFIX
#define DP_OPT_ARRAY_DP_OPT_MAC
#define DP_OPT_ARRAY_DP_OPT_STRING [DP_OPT_STRING_MAX]
#define DP_OPT_ARRAY_DP_OPT_UINT
#define DP_OPT_ARRAY_DP_OPT_CIDR_LIST
#define DP_OPT_ARRAY_DP_OPT_SIZE

struct dp_options {
#define DP_OPTION_FIELD(field, shortopt, type, def, max, metavar, help)                                      \
	DP_OPT_CTYPE_##type field DP_OPT_ARRAY_##type;
	DP_OPTIONS(DP_OPTION_FIELD)
#undef DP_OPTION_FIELD
};

enum dp_options_result {
	DP_OPTIONS_OK = 0,
	DP_OPTIONS_EXIT_OK,  /* --help or --version was printed */
	DP_OPTIONS_ERROR,    /* the message is in err */
};

/*
 * Parse dpcached's own arguments (argv[0] is the program name, as getopt
 * expects). On error, `err` holds one line naming the flag and the problem.
 */
enum dp_options_result dp_options_parse(struct dp_options *opts, int argc, char **argv,
					char *err, size_t errlen);

/* Print the option table as --help text. */
void dp_options_usage(FILE *out);

/* Parsers behind the table, public for the unit tests. 0 or -1. */
int dp_parse_ipv4_prefix(const char *s, struct dp_ipv4_prefix *out);
int dp_parse_mac(const char *s, struct dp_mac *out);
int dp_parse_uint(const char *s, unsigned int max, unsigned int *out);
int dp_parse_cidr_list(const char *s, struct dp_cidr_list *out);
int dp_parse_size(const char *s, unsigned int max, unsigned int *out);

#endif
