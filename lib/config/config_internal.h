/* Inside lib/config only: bulk loading without a ring rebuild per server. */
#ifndef DPCACHE_LIB_CONFIG_INTERNAL_H
#define DPCACHE_LIB_CONFIG_INTERNAL_H

#include "dpcache/config.h"

/* cfg_server_add() without cfg_build(): the caller builds once at the end. */
int cfg_server_add_unbuilt(struct cfg *c, const char *addr, const char *pool, unsigned weight,
			   const char *admin, char *err, size_t errlen);

/* Rebuild the ring of one pool (its servers' indices must be current). */
int cfg_build_pool(struct cfg *c, struct cfg_pool *p);

#endif
