/**
 * @file
 * The routing config: regions ⊃ clusters ⊃ pools ⊃ servers, the consistent
 * hash of each pool, and the route of a key. dpcache-ctld owns and publishes
 * it (a versioned JSON document); clients load the same document and route
 * with the same code, so both sides agree on where every key lives.
 *
 * Every mutation checks the model's invariants and returns 0 or a negative
 * errno with one line in @p err; a failed mutation leaves the model as it was.
 * Loading a document replays it through the same mutations, so a document
 * that breaks an invariant is refused, never half-loaded.
 */
#ifndef DPCACHE_CONFIG_H
#define DPCACHE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX	 64  /**< region/cluster/pool names, with NUL */
#define CFG_ADDR_MAX	 64  /**< "host:port", with NUL */
#define CFG_PREFIX_MAX	 128 /**< key prefix of a named pool, with NUL */
#define CFG_PATH_MAX	 108 /**< admin socket path, with NUL */
#define CFG_REPLICAS_MAX 8   /**< copies in a replicated pool */
#define CFG_WEIGHT_MAX	 100 /**< server weights are 1..CFG_WEIGHT_MAX */
#define CFG_GUTTER_TTL	 60  /**< default TTL (s) of entries in a gutter pool */

/**
 * Points per unit of weight on a pool's ring. A server of weight w owns
 * CFG_POINTS_PER_WEIGHT * w points; 160 is ketama's classic count and keeps
 * a server's share within a few percent of its fair share.
 */
#define CFG_POINTS_PER_WEIGHT 160

/** Default path of dpcache-ctld's control socket (`config get` serves this config). */
#define CTL_DEFAULT_SOCKET "/run/dpcache-ctld.sock"

/** Name of the hash, as published (clients must refuse other names). */
#define CFG_HASH_NAME "ketama-xxh3"

enum cfg_pool_kind {
	CFG_POOL_WILDCARD,   /**< the cluster's default pool: keys no prefix claims */
	CFG_POOL_NAMED,	     /**< keys starting with the pool's prefix */
	CFG_POOL_REPLICATED, /**< by prefix; N copies, reads pick one, writes go to all */
	CFG_POOL_REGIONAL,   /**< by prefix; one pool shared by every cluster of a region */
	CFG_POOL_GUTTER,     /**< the cluster's failover pool for keys of TKO servers */
};

struct cfg_region {
	char name[CFG_NAME_MAX];
};

struct cfg_cluster {
	char name[CFG_NAME_MAX];
	char region[CFG_NAME_MAX];
};

struct cfg_point {
	uint64_t hash;
	uint32_t server; /**< index into cfg.servers */
};

struct cfg_pool {
	char name[CFG_NAME_MAX];
	enum cfg_pool_kind kind;
	char cluster[CFG_NAME_MAX]; /**< empty for a regional pool */
	char region[CFG_NAME_MAX];  /**< regional pools only */
	char prefix[CFG_PREFIX_MAX];
	unsigned replicas; /**< copies of each key: 1 unless replicated */
	unsigned ttl;	   /**< max TTL (s) clients give entries; gutter pools */
	/* The ring, derived from the servers by cfg_build(). */
	struct cfg_point *points;
	size_t n_points;
};

struct cfg_server {
	char addr[CFG_ADDR_MAX]; /**< "host:port" of its memcache service */
	char pool[CFG_NAME_MAX];
	unsigned weight;
	char admin[CFG_PATH_MAX]; /**< dpcached admin socket, or empty */
	int tko;		  /**< failed its health probes: keys go to the gutter */
	int draining;		  /**< operator drain: keys go to the gutter, no alarm */
};

/** The whole model. Zero-initialise, then cfg_free() when done. */
struct cfg {
	uint64_t version; /**< bumped by every published change; never goes back */
	struct cfg_region *regions;
	size_t n_regions;
	struct cfg_cluster *clusters;
	size_t n_clusters;
	struct cfg_pool *pools;
	size_t n_pools;
	struct cfg_server *servers;
	size_t n_servers;
};

/** Where a key goes. */
struct cfg_route {
	const struct cfg_pool *pool; /**< the pool that owns the key */
	size_t n;		     /**< owners: 1, or the replicas */
	const struct cfg_server *owners[CFG_REPLICAS_MAX];
	const struct cfg_server *read; /**< where to send a get (first live owner) */
	int via_gutter;		       /**< read goes to the gutter (owner TKO/draining) */
};

void cfg_free(struct cfg *c);
/** Deep copy of @p src into @p dst (which is overwritten, not freed). */
int cfg_copy(struct cfg *dst, const struct cfg *src);

const char *cfg_pool_kind_name(enum cfg_pool_kind kind);
int cfg_pool_kind_parse(const char *s, enum cfg_pool_kind *kind);

int cfg_region_add(struct cfg *c, const char *name, char *err, size_t errlen);
int cfg_region_remove(struct cfg *c, const char *name, char *err, size_t errlen);
int cfg_cluster_add(struct cfg *c, const char *name, const char *region, char *err, size_t errlen);
int cfg_cluster_remove(struct cfg *c, const char *name, char *err, size_t errlen);
/**
 * Add a pool. From @p spec: name, kind, cluster (region for a regional pool),
 * prefix, replicas (0: 1, or 2 for a replicated pool), ttl (0: the gutter's
 * default for a gutter pool).
 */
int cfg_pool_add(struct cfg *c, const struct cfg_pool *spec, char *err, size_t errlen);
int cfg_pool_remove(struct cfg *c, const char *name, char *err, size_t errlen);
/** Add a server; @p weight 0 means 1; @p admin may be NULL. */
int cfg_server_add(struct cfg *c, const char *addr, const char *pool, unsigned weight,
		   const char *admin, char *err, size_t errlen);
int cfg_server_remove(struct cfg *c, const char *addr, char *err, size_t errlen);
int cfg_server_set_drain(struct cfg *c, const char *addr, int on, char *err, size_t errlen);
int cfg_server_set_tko(struct cfg *c, const char *addr, int on, char *err, size_t errlen);

struct cfg_region *cfg_region_find(const struct cfg *c, const char *name);
struct cfg_cluster *cfg_cluster_find(const struct cfg *c, const char *name);
struct cfg_pool *cfg_pool_find(const struct cfg *c, const char *name);
struct cfg_server *cfg_server_find(const struct cfg *c, const char *addr);
/** The gutter pool of @p cluster, or NULL. */
const struct cfg_pool *cfg_gutter_of(const struct cfg *c, const char *cluster);

/** Check every invariant; 0, or -EINVAL with the first violation in @p err. */
int cfg_check(const struct cfg *c, char *err, size_t errlen);

/** (Re)build every pool's ring. Mutations call it; routes need it. */
int cfg_build(struct cfg *c);

/** The hash of a key, as the rings use it. */
uint64_t cfg_key_hash(const char *key, size_t len);

/**
 * The server of @p pool whose ring point follows @p hash (no TKO logic):
 * its index in cfg.servers, or -1 if the pool has no servers.
 */
long cfg_ring_lookup(const struct cfg *c, const struct cfg_pool *pool, uint64_t hash);

/**
 * Route @p key as a client of @p cluster (NULL: the only cluster). The owner
 * is never re-hashed onto the pool's other servers: if it is TKO or draining,
 * reads go to the cluster's gutter pool (via_gutter), as the paper prescribes.
 * @return 0, -ENOENT (no such cluster / no pool for the key / empty pool) or
 *         -EHOSTUNREACH (owner down and no usable gutter)
 */
int cfg_route_key(const struct cfg *c, const char *cluster, const char *key, size_t keylen,
		  struct cfg_route *r);

/**
 * Spread the gets of a replicated key: a live owner chosen by @p seed (a
 * random number per request, or a client id for stickiness); the route's
 * read when there is one owner or none is live. Sets and deletes still go
 * to every owner.
 */
const struct cfg_server *cfg_route_pick(const struct cfg_route *r, uint32_t seed);

/**
 * The versioned JSON document (one line, no trailing newline); malloc'd,
 * NULL on allocation failure.
 */
char *cfg_to_json(const struct cfg *c);
/**
 * Load a document into @p c (which must be empty). 0, or a negative errno
 * with the problem in @p err (and @p c emptied).
 */
int cfg_from_json(struct cfg *c, const char *text, char *err, size_t errlen);

/**
 * Load the document a ctld wrote with --config-out (for clients that read
 * files). Same contract as cfg_from_json(); -ENOENT if there is no file.
 */
int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen);

#endif
