/*
 * The routing model and its invariants.
 *
 * Names of regions, clusters and pools are unique in their kind across the
 * whole model, and a server (host:port) belongs to one pool only: a memcached
 * shared by two pools would mix their keys. Children must be removed before
 * their parent, so nothing ever points at a missing parent. A cluster has at
 * most one wildcard and one gutter pool; prefixes do not repeat among the
 * pools a client of a cluster can see (its own and its region's regional
 * pools), so a key's pool is never ambiguous.
 */
#include "config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Grow an array of `n` elements of `size` bytes by one slot; NULL on ENOMEM. */
static void *grow(void *arr, size_t n, size_t size)
{
	return realloc(arr, (n + 1) * size);
}

#define REMOVE_AT(arr, n, i)                                                           \
	do {                                                                           \
		memmove(&(arr)[i], &(arr)[(i) + 1], ((n) - (i)-1) * sizeof((arr)[0])); \
		(n)--;                                                                 \
	} while (0)

static const char *const kind_names[] = {
	[CFG_POOL_WILDCARD] = "wildcard",
	[CFG_POOL_NAMED] = "named",
	[CFG_POOL_REPLICATED] = "replicated",
	[CFG_POOL_REGIONAL] = "regional",
	[CFG_POOL_GUTTER] = "gutter",
};

const char *cfg_pool_kind_name(enum cfg_pool_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "?";
	return kind_names[kind];
}

int cfg_pool_kind_parse(const char *s, enum cfg_pool_kind *kind)
{
	for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*kind = (enum cfg_pool_kind)i;
			return 0;
		}
	return -EINVAL;
}

static void free_rings(struct cfg *c)
{
	for (size_t i = 0; i < c->n_pools; i++) {
		free(c->pools[i].points);
		c->pools[i].points = NULL;
		c->pools[i].n_points = 0;
	}
}

void cfg_free(struct cfg *c)
{
	free_rings(c);
	free(c->regions);
	free(c->clusters);
	free(c->pools);
	free(c->servers);
	memset(c, 0, sizeof(*c));
}

static void *dup_array(const void *src, size_t n, size_t size, int *failed)
{
	void *p;

	if (n == 0)
		return NULL;
	p = malloc(n * size);
	if (p == NULL)
		*failed = 1;
	else
		memcpy(p, src, n * size);
	return p;
}

int cfg_copy(struct cfg *dst, const struct cfg *src)
{
	int failed = 0;

	memset(dst, 0, sizeof(*dst));
	dst->version = src->version;
	dst->regions = dup_array(src->regions, src->n_regions, sizeof(*src->regions), &failed);
	dst->n_regions = src->n_regions;
	dst->clusters = dup_array(src->clusters, src->n_clusters, sizeof(*src->clusters), &failed);
	dst->n_clusters = src->n_clusters;
	dst->pools = dup_array(src->pools, src->n_pools, sizeof(*src->pools), &failed);
	dst->n_pools = src->n_pools;
	for (size_t i = 0; i < dst->n_pools && dst->pools != NULL; i++) {
		dst->pools[i].points = NULL;
		dst->pools[i].n_points = 0;
	}
	dst->servers = dup_array(src->servers, src->n_servers, sizeof(*src->servers), &failed);
	dst->n_servers = src->n_servers;
	if (failed || cfg_build(dst) < 0) {
		cfg_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Names: 1..63 of [A-Za-z0-9_.-], so they are safe in paths, logs and znodes. */
static int check_name(const char *what, const char *name, char *err, size_t errlen)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len >= CFG_NAME_MAX)
		return fail(err, errlen, -EINVAL, "%s name must be 1..%d characters", what,
			    CFG_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return fail(err, errlen, -EINVAL,
				    "%s name '%s' may only hold letters, digits, '_', '-', '.'",
				    what, name);
	}
	return 0;
}

/* "host:port" with a port in 1..65535 and a host of [A-Za-z0-9.-]. */
static int check_addr(const char *addr, char *err, size_t errlen)
{
	const char *colon = addr != NULL ? strrchr(addr, ':') : NULL;
	char *end;
	long port;

	if (colon == NULL || colon == addr || strlen(addr) >= CFG_ADDR_MAX)
		goto bad;
	for (const char *p = addr; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			goto bad;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		goto bad;
	return 0;
bad:
	return fail(err, errlen, -EINVAL, "server '%s' is not host:port (port 1..65535)",
		    addr != NULL ? addr : "");
}

struct cfg_region *cfg_region_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_regions; i++)
		if (strcmp(c->regions[i].name, name) == 0)
			return &c->regions[i];
	return NULL;
}

struct cfg_cluster *cfg_cluster_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_clusters; i++)
		if (strcmp(c->clusters[i].name, name) == 0)
			return &c->clusters[i];
	return NULL;
}

struct cfg_pool *cfg_pool_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_pools; i++)
		if (strcmp(c->pools[i].name, name) == 0)
			return &c->pools[i];
	return NULL;
}

struct cfg_server *cfg_server_find(const struct cfg *c, const char *addr)
{
	for (size_t i = 0; i < c->n_servers; i++)
		if (strcmp(c->servers[i].addr, addr) == 0)
			return &c->servers[i];
	return NULL;
}

const struct cfg_pool *cfg_gutter_of(const struct cfg *c, const char *cluster)
{
	for (size_t i = 0; i < c->n_pools; i++)
		if (c->pools[i].kind == CFG_POOL_GUTTER &&
		    strcmp(c->pools[i].cluster, cluster) == 0)
			return &c->pools[i];
	return NULL;
}

int cfg_region_add(struct cfg *c, const char *name, char *err, size_t errlen)
{
	struct cfg_region *r;
	int rc = check_name("region", name, err, errlen);

	if (rc < 0)
		return rc;
	if (cfg_region_find(c, name) != NULL)
		return fail(err, errlen, -EEXIST, "region '%s' exists", name);
	r = grow(c->regions, c->n_regions, sizeof(*r));
	if (r == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	c->regions = r;
	memset(&r[c->n_regions], 0, sizeof(*r));
	strcpy(r[c->n_regions].name, name);
	c->n_regions++;
	return 0;
}

int cfg_region_remove(struct cfg *c, const char *name, char *err, size_t errlen)
{
	struct cfg_region *r = cfg_region_find(c, name);

	if (r == NULL)
		return fail(err, errlen, -ENOENT, "no region '%s'", name);
	for (size_t i = 0; i < c->n_clusters; i++)
		if (strcmp(c->clusters[i].region, name) == 0)
			return fail(err, errlen, -ENOTEMPTY, "region '%s' still has cluster '%s'",
				    name, c->clusters[i].name);
	for (size_t i = 0; i < c->n_pools; i++)
		if (strcmp(c->pools[i].region, name) == 0)
			return fail(err, errlen, -ENOTEMPTY, "region '%s' still has pool '%s'",
				    name, c->pools[i].name);
	REMOVE_AT(c->regions, c->n_regions, (size_t)(r - c->regions));
	return 0;
}

int cfg_cluster_add(struct cfg *c, const char *name, const char *region, char *err, size_t errlen)
{
	struct cfg_cluster *cl;
	int rc = check_name("cluster", name, err, errlen);

	if (rc < 0)
		return rc;
	if (region == NULL || region[0] == '\0')
		return fail(err, errlen, -EINVAL, "cluster '%s' needs region=NAME", name);
	if (cfg_region_find(c, region) == NULL)
		return fail(err, errlen, -ENOENT, "no region '%s'", region);
	if (cfg_cluster_find(c, name) != NULL)
		return fail(err, errlen, -EEXIST, "cluster '%s' exists", name);
	cl = grow(c->clusters, c->n_clusters, sizeof(*cl));
	if (cl == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	c->clusters = cl;
	memset(&cl[c->n_clusters], 0, sizeof(*cl));
	strcpy(cl[c->n_clusters].name, name);
	strcpy(cl[c->n_clusters].region, region);
	c->n_clusters++;
	return 0;
}

int cfg_cluster_remove(struct cfg *c, const char *name, char *err, size_t errlen)
{
	struct cfg_cluster *cl = cfg_cluster_find(c, name);

	if (cl == NULL)
		return fail(err, errlen, -ENOENT, "no cluster '%s'", name);
	for (size_t i = 0; i < c->n_pools; i++)
		if (strcmp(c->pools[i].cluster, name) == 0)
			return fail(err, errlen, -ENOTEMPTY, "cluster '%s' still has pool '%s'",
				    name, c->pools[i].name);
	REMOVE_AT(c->clusters, c->n_clusters, (size_t)(cl - c->clusters));
	return 0;
}

/* Is @p p visible to clients of cluster @p cl (its own, or its region's)? */
static int pool_visible(const struct cfg_pool *p, const struct cfg_cluster *cl)
{
	if (p->kind == CFG_POOL_REGIONAL)
		return strcmp(p->region, cl->region) == 0;
	return strcmp(p->cluster, cl->name) == 0;
}

/*
 * Would pool @p p clash with another pool that a client of some cluster also
 * sees: a second wildcard or gutter in a cluster, or a repeated prefix?
 */
static int pool_clash(const struct cfg *c, const struct cfg_pool *p, char *err, size_t errlen)
{
	for (size_t k = 0; k < c->n_clusters; k++) {
		const struct cfg_cluster *cl = &c->clusters[k];

		if (!pool_visible(p, cl))
			continue;
		for (size_t i = 0; i < c->n_pools; i++) {
			const struct cfg_pool *q = &c->pools[i];

			if (q == p || !pool_visible(q, cl))
				continue;
			if ((p->kind == CFG_POOL_WILDCARD || p->kind == CFG_POOL_GUTTER) &&
			    q->kind == p->kind)
				return fail(err, errlen, -EEXIST,
					    "cluster '%s' already has %s pool '%s'", cl->name,
					    cfg_pool_kind_name(p->kind), q->name);
			if (p->prefix[0] != '\0' && strcmp(p->prefix, q->prefix) == 0)
				return fail(err, errlen, -EEXIST,
					    "prefix '%s' is already pool '%s''s (cluster '%s')",
					    p->prefix, q->name, cl->name);
		}
	}
	return 0;
}

/* Normalise and check a pool spec against everything but the other pools. */
static int pool_spec_check(const struct cfg *c, struct cfg_pool *p, char *err, size_t errlen)
{
	int rc = check_name("pool", p->name, err, errlen);
	int by_prefix = p->kind == CFG_POOL_NAMED || p->kind == CFG_POOL_REPLICATED ||
			p->kind == CFG_POOL_REGIONAL;

	if (rc < 0)
		return rc;
	if ((unsigned)p->kind > CFG_POOL_GUTTER)
		return fail(err, errlen, -EINVAL, "pool '%s': unknown kind", p->name);
	if (p->kind == CFG_POOL_REGIONAL) {
		if (p->region[0] == '\0' || p->cluster[0] != '\0')
			return fail(err, errlen, -EINVAL,
				    "regional pool '%s' needs region=NAME and no cluster", p->name);
		if (cfg_region_find(c, p->region) == NULL)
			return fail(err, errlen, -ENOENT, "no region '%s'", p->region);
	} else {
		if (p->cluster[0] == '\0' || p->region[0] != '\0')
			return fail(err, errlen, -EINVAL, "%s pool '%s' needs cluster=NAME",
				    cfg_pool_kind_name(p->kind), p->name);
		if (cfg_cluster_find(c, p->cluster) == NULL)
			return fail(err, errlen, -ENOENT, "no cluster '%s'", p->cluster);
	}
	if (by_prefix && p->prefix[0] == '\0')
		return fail(err, errlen, -EINVAL, "%s pool '%s' needs prefix=KEYPREFIX",
			    cfg_pool_kind_name(p->kind), p->name);
	if (!by_prefix && p->prefix[0] != '\0')
		return fail(err, errlen, -EINVAL, "%s pool '%s' takes no prefix",
			    cfg_pool_kind_name(p->kind), p->name);
	for (const char *s = p->prefix; *s != '\0'; s++)
		if (*s <= ' ' || *s == 0x7f)
			return fail(err, errlen, -EINVAL,
				    "prefix of pool '%s' holds a space or control character",
				    p->name);
	if (p->replicas == 0)
		p->replicas = p->kind == CFG_POOL_REPLICATED ? 2 : 1;
	if (p->kind == CFG_POOL_REPLICATED && (p->replicas < 2 || p->replicas > CFG_REPLICAS_MAX))
		return fail(err, errlen, -EINVAL, "replicated pool '%s': replicas must be 2..%d",
			    p->name, CFG_REPLICAS_MAX);
	if (p->kind != CFG_POOL_REPLICATED && p->replicas != 1)
		return fail(err, errlen, -EINVAL, "only replicated pools take replicas=N");
	if (p->kind == CFG_POOL_GUTTER && p->ttl == 0)
		p->ttl = CFG_GUTTER_TTL;
	return 0;
}

int cfg_pool_add(struct cfg *c, const struct cfg_pool *spec, char *err, size_t errlen)
{
	struct cfg_pool p = *spec, *pools;
	int rc;

	p.points = NULL;
	p.n_points = 0;
	p.name[CFG_NAME_MAX - 1] = p.cluster[CFG_NAME_MAX - 1] = p.region[CFG_NAME_MAX - 1] = '\0';
	p.prefix[CFG_PREFIX_MAX - 1] = '\0';
	rc = pool_spec_check(c, &p, err, errlen);
	if (rc < 0)
		return rc;
	if (cfg_pool_find(c, p.name) != NULL)
		return fail(err, errlen, -EEXIST, "pool '%s' exists", p.name);
	rc = pool_clash(c, &p, err, errlen);
	if (rc < 0)
		return rc;
	pools = grow(c->pools, c->n_pools, sizeof(p));
	if (pools == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	c->pools = pools;
	c->pools[c->n_pools++] = p;
	return 0;
}

int cfg_pool_remove(struct cfg *c, const char *name, char *err, size_t errlen)
{
	struct cfg_pool *p = cfg_pool_find(c, name);

	if (p == NULL)
		return fail(err, errlen, -ENOENT, "no pool '%s'", name);
	for (size_t i = 0; i < c->n_servers; i++)
		if (strcmp(c->servers[i].pool, name) == 0)
			return fail(err, errlen, -ENOTEMPTY, "pool '%s' still has server %s", name,
				    c->servers[i].addr);
	free(p->points);
	REMOVE_AT(c->pools, c->n_pools, (size_t)(p - c->pools));
	return 0;
}

int cfg_server_add(struct cfg *c, const char *addr, const char *pool, unsigned weight,
		   const char *admin, char *err, size_t errlen)
{
	int rc = cfg_server_add_unbuilt(c, addr, pool, weight, admin, err, errlen);

	if (rc < 0)
		return rc;
	return cfg_build_pool(c, cfg_pool_find(c, pool)) < 0
		   ? fail(err, errlen, -ENOMEM, "out of memory")
		   : 0;
}

int cfg_server_add_unbuilt(struct cfg *c, const char *addr, const char *pool, unsigned weight,
			   const char *admin, char *err, size_t errlen)
{
	struct cfg_server *s, *old;
	int rc = check_addr(addr, err, errlen);

	if (rc < 0)
		return rc;
	if (pool == NULL || pool[0] == '\0')
		return fail(err, errlen, -EINVAL, "server %s needs pool=NAME", addr);
	if (cfg_pool_find(c, pool) == NULL)
		return fail(err, errlen, -ENOENT, "no pool '%s'", pool);
	if (weight == 0)
		weight = 1;
	if (weight > CFG_WEIGHT_MAX)
		return fail(err, errlen, -EINVAL, "weight must be 1..%d", CFG_WEIGHT_MAX);
	if (admin != NULL && strlen(admin) >= CFG_PATH_MAX)
		return fail(err, errlen, -EINVAL, "admin socket path longer than %d bytes",
			    CFG_PATH_MAX - 1);
	old = cfg_server_find(c, addr);
	if (old != NULL)
		return fail(err, errlen, -EEXIST, "server %s is already in pool '%s'", addr,
			    old->pool);
	s = grow(c->servers, c->n_servers, sizeof(*s));
	if (s == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	c->servers = s;
	s = &c->servers[c->n_servers];
	memset(s, 0, sizeof(*s));
	strcpy(s->addr, addr);
	strcpy(s->pool, pool);
	s->weight = weight;
	if (admin != NULL)
		strcpy(s->admin, admin);
	c->n_servers++;
	return 0;
}

int cfg_server_remove(struct cfg *c, const char *addr, char *err, size_t errlen)
{
	struct cfg_server *s = cfg_server_find(c, addr);

	if (s == NULL)
		return fail(err, errlen, -ENOENT, "no server %s", addr);
	/* Indices shift: every ring past the removed server is rebuilt. */
	REMOVE_AT(c->servers, c->n_servers, (size_t)(s - c->servers));
	return cfg_build(c) < 0 ? fail(err, errlen, -ENOMEM, "out of memory") : 0;
}

int cfg_server_set_drain(struct cfg *c, const char *addr, int on, char *err, size_t errlen)
{
	struct cfg_server *s = cfg_server_find(c, addr);

	if (s == NULL)
		return fail(err, errlen, -ENOENT, "no server %s", addr);
	s->draining = on != 0;
	return 0;
}

int cfg_server_set_tko(struct cfg *c, const char *addr, int on, char *err, size_t errlen)
{
	struct cfg_server *s = cfg_server_find(c, addr);

	if (s == NULL)
		return fail(err, errlen, -ENOENT, "no server %s", addr);
	s->tko = on != 0;
	return 0;
}

int cfg_check(const struct cfg *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_regions; i++) {
		if (check_name("region", c->regions[i].name, err, errlen) < 0)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->regions[i].name, c->regions[j].name) == 0)
				return fail(err, errlen, -EINVAL, "region '%s' twice",
					    c->regions[i].name);
	}
	for (size_t i = 0; i < c->n_clusters; i++) {
		const struct cfg_cluster *cl = &c->clusters[i];

		if (check_name("cluster", cl->name, err, errlen) < 0)
			return -EINVAL;
		if (cfg_region_find(c, cl->region) == NULL)
			return fail(err, errlen, -EINVAL, "cluster '%s': no region '%s'", cl->name,
				    cl->region);
		if (cfg_cluster_find(c, cl->name) != cl)
			return fail(err, errlen, -EINVAL, "cluster '%s' twice", cl->name);
	}
	for (size_t i = 0; i < c->n_pools; i++) {
		struct cfg_pool p = c->pools[i];

		if (pool_spec_check(c, &p, err, errlen) < 0)
			return -EINVAL;
		if (p.replicas != c->pools[i].replicas || p.ttl != c->pools[i].ttl)
			return fail(err, errlen, -EINVAL, "pool '%s': replicas/ttl unset", p.name);
		if (cfg_pool_find(c, p.name) != &c->pools[i])
			return fail(err, errlen, -EINVAL, "pool '%s' twice", p.name);
		if (pool_clash(c, &c->pools[i], err, errlen) < 0)
			return -EINVAL;
	}
	for (size_t i = 0; i < c->n_servers; i++) {
		const struct cfg_server *s = &c->servers[i];

		if (check_addr(s->addr, err, errlen) < 0)
			return -EINVAL;
		if (cfg_pool_find(c, s->pool) == NULL)
			return fail(err, errlen, -EINVAL, "server %s: no pool '%s'", s->addr,
				    s->pool);
		if (cfg_server_find(c, s->addr) != s)
			return fail(err, errlen, -EINVAL, "server %s twice", s->addr);
		if (s->weight < 1 || s->weight > CFG_WEIGHT_MAX)
			return fail(err, errlen, -EINVAL, "server %s: weight %u", s->addr,
				    s->weight);
	}
	return 0;
}
