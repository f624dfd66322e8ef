/*
 * Consistent hashing: a ketama ring per pool, hashed with XXH3.
 *
 * Why ketama and not jump or ch3 (Furc): those map a key to a bucket number
 * 0..N-1 and only move few keys when buckets are appended or the last one is
 * dropped. An operator removes whichever server broke, from the middle of a
 * pool, and gives bigger machines more weight; with jump/ch3 both need an
 * extra indirection (a weighted retry loop, a bucket→server table that must
 * never be compacted). A ring handles both directly: a server of weight w
 * owns CFG_POINTS_PER_WEIGHT * w points, hashed from "host:port-i", so adding
 * or removing one server only moves the keys of the arcs it gains or loses,
 * about 1/N of them, and moves none between the other servers. The price, a
 * binary search over a few thousand points per lookup, is small next to a
 * network round trip. It is also what libmemcached and mcrouter users know.
 *
 * XXH3 rather than ketama's MD5: fast, 64-bit, stable across platforms and
 * versions (its output is frozen), and header-only (XXH_INLINE_ALL), so
 * clients need no extra library. The ring's points depend only on addresses
 * and weights, never on the order servers were added.
 */
#include "config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t cfg_key_hash(const char *key, size_t len)
{
	return XXH3_64bits(key, len);
}

static const struct cfg *sort_cfg; /* qsort has no context argument in C11 */

static int point_cmp(const void *a, const void *b)
{
	const struct cfg_point *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	/* Equal hashes (rare): order by address so every process agrees. */
	return strcmp(sort_cfg->servers[x->server].addr, sort_cfg->servers[y->server].addr);
}

int cfg_build_pool(struct cfg *c, struct cfg_pool *p)
{
	size_t n = 0, k = 0;
	struct cfg_point *pts;

	for (size_t i = 0; i < c->n_servers; i++)
		if (strcmp(c->servers[i].pool, p->name) == 0)
			n += (size_t)c->servers[i].weight * CFG_POINTS_PER_WEIGHT;
	free(p->points);
	p->points = NULL;
	p->n_points = 0;
	if (n == 0)
		return 0;
	pts = malloc(n * sizeof(*pts));
	if (pts == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_servers; i++) {
		const struct cfg_server *s = &c->servers[i];
		char label[CFG_ADDR_MAX + 16];

		if (strcmp(s->pool, p->name) != 0)
			continue;
		for (unsigned j = 0; j < s->weight * CFG_POINTS_PER_WEIGHT; j++) {
			int len = snprintf(label, sizeof(label), "%s-%u", s->addr, j);

			pts[k].hash = XXH3_64bits(label, (size_t)len);
			pts[k].server = (uint32_t)i;
			k++;
		}
	}
	sort_cfg = c;
	qsort(pts, n, sizeof(*pts), point_cmp);
	p->points = pts;
	p->n_points = n;
	return 0;
}

int cfg_build(struct cfg *c)
{
	for (size_t i = 0; i < c->n_pools; i++)
		if (cfg_build_pool(c, &c->pools[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Index of the first point at or after @p hash, wrapping to 0. */
static size_t ring_find(const struct cfg_pool *p, uint64_t hash)
{
	size_t lo = 0, hi = p->n_points;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->points[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == p->n_points ? 0 : lo;
}

long cfg_ring_lookup(const struct cfg *c, const struct cfg_pool *pool, uint64_t hash)
{
	(void)c;
	if (pool->n_points == 0)
		return -1;
	return (long)pool->points[ring_find(pool, hash)].server;
}

/* The pool a client of @p cl uses for @p key: the longest matching prefix, else wildcard. */
static const struct cfg_pool *pool_for_key(const struct cfg *c, const struct cfg_cluster *cl,
					   const char *key, size_t keylen)
{
	const struct cfg_pool *best = NULL, *wildcard = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < c->n_pools; i++) {
		const struct cfg_pool *p = &c->pools[i];
		size_t plen;

		if (p->kind == CFG_POOL_REGIONAL ? strcmp(p->region, cl->region) != 0
						 : strcmp(p->cluster, cl->name) != 0)
			continue;
		if (p->kind == CFG_POOL_WILDCARD) {
			wildcard = p;
			continue;
		}
		if (p->kind == CFG_POOL_GUTTER)
			continue;
		plen = strlen(p->prefix);
		if (plen <= keylen && plen > best_len && memcmp(key, p->prefix, plen) == 0) {
			best = p;
			best_len = plen;
		}
	}
	return best != NULL ? best : wildcard;
}

static int usable(const struct cfg_server *s)
{
	return !s->tko && !s->draining;
}

int cfg_route_key(const struct cfg *c, const char *cluster, const char *key, size_t keylen,
		  struct cfg_route *r)
{
	const struct cfg_cluster *cl;
	const struct cfg_pool *p, *gutter;
	uint64_t h = cfg_key_hash(key, keylen);
	size_t at;
	long g;

	memset(r, 0, sizeof(*r));
	if (cluster == NULL)
		cl = c->n_clusters == 1 ? &c->clusters[0] : NULL;
	else
		cl = cfg_cluster_find(c, cluster);
	if (cl == NULL)
		return -ENOENT;
	p = pool_for_key(c, cl, key, keylen);
	if (p == NULL || p->n_points == 0)
		return -ENOENT;
	r->pool = p;
	/* Owners: the distinct servers met walking the ring clockwise from the key. */
	at = ring_find(p, h);
	for (size_t step = 0; step < p->n_points && r->n < p->replicas; step++) {
		const struct cfg_server *s =
		    &c->servers[p->points[(at + step) % p->n_points].server];
		size_t i;

		for (i = 0; i < r->n && r->owners[i] != s; i++)
			;
		if (i == r->n)
			r->owners[r->n++] = s;
	}
	for (size_t i = 0; i < r->n; i++)
		if (usable(r->owners[i])) {
			r->read = r->owners[i];
			return 0;
		}
	/* Every owner is down: the gutter, never the pool's other servers. */
	gutter = cfg_gutter_of(c, cl->name);
	if (gutter == NULL || gutter == p)
		return -EHOSTUNREACH;
	g = cfg_ring_lookup(c, gutter, h);
	if (g < 0 || !usable(&c->servers[g]))
		return -EHOSTUNREACH;
	r->read = &c->servers[g];
	r->via_gutter = 1;
	return 0;
}

const struct cfg_server *cfg_route_pick(const struct cfg_route *r, uint32_t seed)
{
	size_t live = 0;

	if (r->via_gutter || r->n < 2)
		return r->read;
	for (size_t i = 0; i < r->n; i++)
		live += usable(r->owners[i]);
	seed %= (uint32_t)live;
	for (size_t i = 0; i < r->n; i++)
		if (usable(r->owners[i]) && seed-- == 0)
			return r->owners[i];
	return r->read; /* not reached */
}
