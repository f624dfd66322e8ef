/*
 * Which store partition (and so which worker, and which --udp-port-base
 * port) holds a key: the one function a client needs to send a UDP get to the
 * owner's core. It must stay the store's own rule (dataplane/store:
 * hash_part): bits 32..47 of the key's XXH3-64, modulo the partitions. The
 * unit test `partition` holds the two together.
 */
#ifndef DPCACHE_PARTITION_H
#define DPCACHE_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

/** The partition of a key hash, for a server with `partitions` partitions (≥ 1). */
static inline unsigned dpcache_hash_partition(uint64_t hash, unsigned partitions)
{
	return (unsigned)((hash >> 32) & 0xffff) % partitions;
}

/** The partition of `key`, for a server with `partitions` partitions (≥ 1). */
static inline unsigned dpcache_key_partition(const void *key, size_t klen, unsigned partitions)
{
	return dpcache_hash_partition(XXH3_64bits(key, klen), partitions);
}

/**
 * The UDP port that reaches the owner of `key` on a server started with
 * --udp-port-base `base` and `partitions` workers (its `stats` shows both:
 * udp_port_base, udp_partition_ports).
 */
static inline uint16_t dpcache_key_udp_port(const void *key, size_t klen, uint16_t base,
					    unsigned partitions)
{
	return (uint16_t)(base + dpcache_key_partition(key, klen, partitions));
}

#endif
