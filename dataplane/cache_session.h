/*
 * A memcached text/meta session against the cache from the main lcore: the
 * admin socket's `memcache` mode. Operators (and tests) load and inspect
 * items without the network; the main lcore is a store thread of its own, and
 * its writes take the partition locks like any writer's (CREW).
 */
#ifndef DPCACHE_CACHE_SESSION_H
#define DPCACHE_CACHE_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "process/process.h"

struct cache_session_config {
	struct store *store;
	unsigned int tid;	/* the store thread index of the main lcore */
	uint32_t item_size_max;
};

/* A new session (malloc'd: the admin path is not the hot path), or NULL. */
void *cache_session_open(const struct cache_session_config *cfg);

/* Run buf[0..len); replies go to out. Non-zero: close the connection. */
int cache_session_input(void *session, const char *buf, size_t len, FILE *out);

void cache_session_close(void *session);

#endif
