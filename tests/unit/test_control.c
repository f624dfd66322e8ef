/*
 * The routing config: model invariants, the JSON document, routes (gutter on
 * TKO, never a rehash), and the consistent hash's stability, measured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_tap.h"
#include "dpcache/config.h"

#define N_KEYS 100000

static char err[256];
/* Owners before a change, copied: the server array may move. */
static char before[N_KEYS][CFG_ADDR_MAX];

static void pool(struct cfg *c, const char *name, enum cfg_pool_kind kind, const char *cluster,
		 const char *prefix, unsigned replicas)
{
	struct cfg_pool p;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	p.kind = kind;
	if (kind == CFG_POOL_REGIONAL)
		snprintf(p.region, sizeof(p.region), "%s", cluster);
	else
		snprintf(p.cluster, sizeof(p.cluster), "%s", cluster);
	snprintf(p.prefix, sizeof(p.prefix), "%s", prefix);
	p.replicas = replicas;
	CU_ASSERT_EQUAL_FATAL(cfg_pool_add(c, &p, err, sizeof(err)), 0);
}

/* Region r1 with cluster c1: wildcard pool "main" of @p n servers, a gutter of one. */
static void fleet(struct cfg *c, unsigned n)
{
	char addr[32];

	memset(c, 0, sizeof(*c));
	CU_ASSERT_EQUAL_FATAL(cfg_region_add(c, "r1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(cfg_cluster_add(c, "c1", "r1", err, sizeof(err)), 0);
	pool(c, "main", CFG_POOL_WILDCARD, "c1", "", 0);
	pool(c, "gutter", CFG_POOL_GUTTER, "c1", "", 0);
	for (unsigned i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "10.0.0.%u:11211", i + 1);
		CU_ASSERT_EQUAL_FATAL(cfg_server_add(c, addr, "main", 1, NULL, err, sizeof(err)),
				      0);
	}
	CU_ASSERT_EQUAL_FATAL(
	    cfg_server_add(c, "10.0.1.1:11211", "gutter", 1, NULL, err, sizeof(err)), 0);
}

static const char *owner(const struct cfg *c, unsigned k)
{
	struct cfg_route r;
	char key[32];
	int len = snprintf(key, sizeof(key), "user:%u", k);

	if (cfg_route_key(c, NULL, key, (size_t)len, &r) < 0)
		return "(no route)"; /* compares unequal to every server */
	return r.owners[0]->addr;
}

static void test_model_invariants(void)
{
	struct cfg c, copy;
	struct cfg_pool p;

	fleet(&c, 3);
	/* Duplicates and dangling parents are refused. */
	CU_ASSERT_EQUAL(cfg_region_add(&c, "r1", err, sizeof(err)), -EEXIST);
	CU_ASSERT_EQUAL(cfg_cluster_add(&c, "c2", "nowhere", err, sizeof(err)), -ENOENT);
	CU_ASSERT_EQUAL(cfg_cluster_add(&c, "c1", "r1", err, sizeof(err)), -EEXIST);
	CU_ASSERT_EQUAL(cfg_region_add(&c, "bad name", err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(cfg_server_add(&c, "10.0.0.1:11211", "gutter", 1, NULL, err, sizeof(err)),
			-EEXIST);
	CU_ASSERT_EQUAL(cfg_server_add(&c, "10.0.0.9:0", "main", 1, NULL, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(cfg_server_add(&c, "10.0.0.9", "main", 1, NULL, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(cfg_server_add(&c, "10.0.0.9:1", "nopool", 1, NULL, err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_EQUAL(cfg_server_add(&c, "10.0.0.9:1", "main", 101, NULL, err, sizeof(err)),
			-EINVAL);
	/* One wildcard and one gutter per cluster; prefixes unique and required. */
	memset(&p, 0, sizeof(p));
	strcpy(p.name, "main2");
	strcpy(p.cluster, "c1");
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), -EEXIST);
	p.kind = CFG_POOL_GUTTER;
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), -EEXIST);
	p.kind = CFG_POOL_NAMED;
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), -EINVAL); /* no prefix */
	strcpy(p.prefix, "sess:");
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), 0);
	strcpy(p.name, "main3");
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), -EEXIST); /* same prefix */
	p.kind = CFG_POOL_REPLICATED;
	strcpy(p.prefix, "hot:");
	p.replicas = 1;
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), -EINVAL);
	p.replicas = 3;
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), 0);
	/* A regional pool's prefix clashes with its clusters' pools too. */
	pool(&c, "reg", CFG_POOL_REGIONAL, "r1", "region:", 0);
	memset(&p, 0, sizeof(p));
	strcpy(p.name, "reg2");
	strcpy(p.cluster, "c1");
	strcpy(p.prefix, "region:");
	p.kind = CFG_POOL_NAMED;
	CU_ASSERT_EQUAL(cfg_pool_add(&c, &p, err, sizeof(err)), -EEXIST);
	/* Gutter entries get the default short TTL. */
	CU_ASSERT_EQUAL(cfg_pool_find(&c, "gutter")->ttl, CFG_GUTTER_TTL);
	/* Parents with children cannot go. */
	CU_ASSERT_EQUAL(cfg_region_remove(&c, "r1", err, sizeof(err)), -ENOTEMPTY);
	CU_ASSERT_EQUAL(cfg_cluster_remove(&c, "c1", err, sizeof(err)), -ENOTEMPTY);
	CU_ASSERT_EQUAL(cfg_pool_remove(&c, "main", err, sizeof(err)), -ENOTEMPTY);
	CU_ASSERT_EQUAL(cfg_pool_remove(&c, "main3", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg_check(&c, err, sizeof(err)), 0);
	/* A deep copy is independent. */
	CU_ASSERT_EQUAL_FATAL(cfg_copy(&copy, &c), 0);
	CU_ASSERT_EQUAL(cfg_server_remove(&copy, "10.0.0.1:11211", err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(cfg_server_find(&c, "10.0.0.1:11211"));
	CU_ASSERT_EQUAL(cfg_check(&copy, err, sizeof(err)), 0);
	/* Tear down in order: everything can be removed child first. */
	for (size_t i = c.n_servers; i > 0; i--)
		CU_ASSERT_EQUAL(cfg_server_remove(&c, c.servers[i - 1].addr, err, sizeof(err)), 0);
	while (c.n_pools > 0)
		CU_ASSERT_EQUAL_FATAL(cfg_pool_remove(&c, c.pools[0].name, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg_cluster_remove(&c, "c1", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg_region_remove(&c, "r1", err, sizeof(err)), 0);
	cfg_free(&c);
	cfg_free(&copy);
}

static void test_json_round_trip(void)
{
	struct cfg c, back;
	char *doc, *again;

	fleet(&c, 4);
	pool(&c, "sessions", CFG_POOL_NAMED, "c1", "sess:", 0);
	pool(&c, "hot", CFG_POOL_REPLICATED, "c1", "hot:", 3);
	CU_ASSERT_EQUAL(cfg_server_add(&c, "host-a.example:11211", "sessions", 7, "/run/a.sock",
				       err, sizeof(err)),
			0);
	cfg_server_set_tko(&c, "10.0.0.2:11211", 1, err, sizeof(err));
	cfg_server_set_drain(&c, "10.0.0.3:11211", 1, err, sizeof(err));
	c.version = 42;
	doc = cfg_to_json(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL_FATAL(cfg_from_json(&back, doc, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(back.version, 42);
	CU_ASSERT_EQUAL(back.n_servers, c.n_servers);
	CU_ASSERT_EQUAL(cfg_server_find(&back, "host-a.example:11211")->weight, 7);
	CU_ASSERT_STRING_EQUAL(cfg_server_find(&back, "host-a.example:11211")->admin,
			       "/run/a.sock");
	CU_ASSERT_TRUE(cfg_server_find(&back, "10.0.0.2:11211")->tko);
	CU_ASSERT_TRUE(cfg_server_find(&back, "10.0.0.3:11211")->draining);
	CU_ASSERT_EQUAL(cfg_pool_find(&back, "hot")->replicas, 3);
	{
		char path[] = "/tmp/dpcache-cfg.XXXXXX";
		int fd = mkstemp(path);
		struct cfg from_file;

		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
		close(fd);
		CU_ASSERT_EQUAL(cfg_load_file(&from_file, path, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(from_file.version, 42);
		CU_ASSERT_EQUAL(from_file.n_servers, c.n_servers);
		cfg_free(&from_file);
		unlink(path);
		CU_ASSERT_EQUAL(cfg_load_file(&from_file, path, err, sizeof(err)), -ENOENT);
	}
	again = cfg_to_json(&back);
	CU_ASSERT_STRING_EQUAL(doc, again); /* stable: same model, same bytes */
	for (unsigned k = 0; k < 1000; k++)
		CU_ASSERT_STRING_EQUAL(owner(&c, k), owner(&back, k));
	free(again);
	cfg_free(&back);
	free(doc);
	cfg_free(&c);
}

static void test_json_refused(void)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "[]",
	    "{\"format\":1,\"version\":1}",
	    "{\"format\":2,\"version\":1,\"regions\":[],\"clusters\":[],\"pools\":[]}",
	    "{\"format\":1,\"version\":-1,\"regions\":[],\"clusters\":[],\"pools\":[]}",
	    /* a cluster in a missing region */
	    "{\"format\":1,\"version\":1,\"regions\":[],\"clusters\":[{\"name\":\"c\","
	    "\"region\":\"r\"}],\"pools\":[]}",
	    /* a server twice */
	    "{\"format\":1,\"version\":1,\"regions\":[{\"name\":\"r\"}],\"clusters\":[{\"name\":"
	    "\"c\",\"region\":\"r\"}],\"pools\":[{\"name\":\"p\",\"kind\":\"wildcard\","
	    "\"cluster\":\"c\",\"servers\":[{\"addr\":\"a:1\"},{\"addr\":\"a:1\"}]}]}",
	    /* another hash */
	    "{\"format\":1,\"version\":1,\"hash\":{\"name\":\"modulo\"},\"regions\":[],"
	    "\"clusters\":[],\"pools\":[]}",
	    NULL,
	};
	struct cfg c;

	for (const char *const *b = bad; *b != NULL; b++) {
		int rc = cfg_from_json(&c, *b, err, sizeof(err));

		CU_ASSERT_TRUE(rc < 0);
		CU_ASSERT_EQUAL(c.n_servers + c.n_pools + c.n_clusters + c.n_regions, 0);
	}
}

/* Damaged documents: never a crash, and what loads passes every check. */
static void test_json_mutations(void)
{
	struct cfg c, back;
	char *doc;
	size_t len;
	unsigned loaded = 0;

	fleet(&c, 4);
	pool(&c, "sessions", CFG_POOL_NAMED, "c1", "sess:", 0);
	doc = cfg_to_json(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	len = strlen(doc);
	srand(7);
	for (unsigned i = 0; i < 3000; i++) {
		char *m = strdup(doc);

		for (int k = 0; k < 1 + rand() % 3; k++)
			m[rand() % len] = (char)(32 + rand() % 95);
		if (i % 7 == 0)
			m[rand() % len] = '\0'; /* truncated */
		if (cfg_from_json(&back, m, err, sizeof(err)) == 0) {
			loaded++;
			CU_ASSERT_EQUAL(cfg_check(&back, err, sizeof(err)), 0);
			cfg_free(&back);
		} else {
			CU_ASSERT_EQUAL(back.n_servers + back.n_pools + back.n_regions, 0);
		}
		free(m);
	}
	printf("# JSON: 3000 damaged documents, %u still loaded (and passed every check)\n",
	       loaded);
	free(doc);
	cfg_free(&c);
}

static void test_routes_by_prefix(void)
{
	struct cfg c;
	struct cfg_route r;

	fleet(&c, 3);
	pool(&c, "sessions", CFG_POOL_NAMED, "c1", "sess:", 0);
	pool(&c, "sessions-long", CFG_POOL_NAMED, "c1", "sess:long:", 0);
	pool(&c, "hot", CFG_POOL_REPLICATED, "c1", "hot:", 2);
	pool(&c, "regional", CFG_POOL_REGIONAL, "r1", "geo:", 0);
	cfg_server_add(&c, "10.0.2.1:11211", "sessions", 1, NULL, err, sizeof(err));
	cfg_server_add(&c, "10.0.2.2:11211", "sessions-long", 1, NULL, err, sizeof(err));
	cfg_server_add(&c, "10.0.3.1:11211", "hot", 1, NULL, err, sizeof(err));
	cfg_server_add(&c, "10.0.3.2:11211", "hot", 1, NULL, err, sizeof(err));
	cfg_server_add(&c, "10.0.4.1:11211", "regional", 1, NULL, err, sizeof(err));
	CU_ASSERT_EQUAL(cfg_route_key(&c, "c1", "sess:x", 6, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.pool->name, "sessions");
	CU_ASSERT_EQUAL(cfg_route_key(&c, "c1", "sess:long:x", 11, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.pool->name, "sessions-long"); /* longest prefix wins */
	CU_ASSERT_EQUAL(cfg_route_key(&c, "c1", "geo:x", 5, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.pool->name, "regional");
	CU_ASSERT_EQUAL(cfg_route_key(&c, "c1", "other", 5, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.pool->name, "main");
	CU_ASSERT_EQUAL(cfg_route_key(&c, "nocluster", "other", 5, &r), -ENOENT);
	/* Replicated: two distinct owners; a read goes to a live one. */
	CU_ASSERT_EQUAL(cfg_route_key(&c, "c1", "hot:x", 5, &r), 0);
	CU_ASSERT_EQUAL(r.n, 2);
	CU_ASSERT_PTR_NOT_EQUAL(r.owners[0], r.owners[1]);
	{
		unsigned first = 0;

		/* Reads spread over the live replicas. */
		for (uint32_t seed = 0; seed < 100; seed++)
			first += cfg_route_pick(&r, seed) == r.owners[0];
		CU_ASSERT_EQUAL(first, 50);
	}
	cfg_server_set_tko(&c, r.owners[0]->addr, 1, err, sizeof(err));
	CU_ASSERT_EQUAL(cfg_route_key(&c, "c1", "hot:x", 5, &r), 0);
	CU_ASSERT_FALSE(r.via_gutter);
	CU_ASSERT_FALSE(r.read->tko);
	for (uint32_t seed = 0; seed < 10; seed++)
		CU_ASSERT_PTR_EQUAL(cfg_route_pick(&r, seed), r.owners[1]);
	cfg_free(&c);
}

/* The paper's rule: a TKO server's keys go to the gutter, nobody else's move. */
static void test_tko_goes_to_gutter(void)
{
	struct cfg c;
	const char *down = "10.0.0.2:11211";
	unsigned to_gutter = 0;

	fleet(&c, 3);
	for (unsigned k = 0; k < 2000; k++)
		snprintf(before[k], CFG_ADDR_MAX, "%s", owner(&c, k));
	CU_ASSERT_EQUAL(cfg_server_set_tko(&c, down, 1, err, sizeof(err)), 0);
	for (unsigned k = 0; k < 2000; k++) {
		struct cfg_route r;
		char key[32];
		int len = snprintf(key, sizeof(key), "user:%u", k);

		CU_ASSERT_EQUAL_FATAL(cfg_route_key(&c, NULL, key, (size_t)len, &r), 0);
		CU_ASSERT_STRING_EQUAL(r.owners[0]->addr, before[k]); /* ownership unchanged */
		if (strcmp(before[k], down) == 0) {
			CU_ASSERT_TRUE(r.via_gutter);
			CU_ASSERT_STRING_EQUAL(r.read->addr, "10.0.1.1:11211");
			to_gutter++;
		} else {
			CU_ASSERT_FALSE(r.via_gutter);
			CU_ASSERT_STRING_EQUAL(r.read->addr, before[k]);
		}
	}
	CU_ASSERT_TRUE(to_gutter > 2000 / 3 / 2); /* about a third of the keys */
	/* Drain behaves the same; a down gutter leaves no route. */
	cfg_server_set_tko(&c, down, 0, err, sizeof(err));
	cfg_server_set_drain(&c, down, 1, err, sizeof(err));
	for (unsigned k = 0; k < 2000; k++)
		if (strcmp(before[k], down) == 0) {
			struct cfg_route r;
			char key[32];
			int len = snprintf(key, sizeof(key), "user:%u", k);

			CU_ASSERT_EQUAL(cfg_route_key(&c, NULL, key, (size_t)len, &r), 0);
			CU_ASSERT_TRUE(r.via_gutter);
			cfg_server_set_tko(&c, "10.0.1.1:11211", 1, err, sizeof(err));
			CU_ASSERT_EQUAL(cfg_route_key(&c, NULL, key, (size_t)len, &r),
					-EHOSTUNREACH);
			break;
		}
	cfg_free(&c);
}

/*
 * Adding one server to N moves about 1/(N+1) of the keys, all of them onto
 * the new server; removing one moves only the removed server's keys.
 */
static void test_hash_stability(void)
{
	const unsigned sizes[] = {3, 10, 50};

	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned n = sizes[s], moved = 0, wrong = 0;
		struct cfg c;
		char added[32];
		double frac, expect = 1.0 / (n + 1);

		fleet(&c, n);
		for (unsigned k = 0; k < N_KEYS; k++)
			snprintf(before[k], CFG_ADDR_MAX, "%s", owner(&c, k));
		snprintf(added, sizeof(added), "10.0.9.9:11211");
		CU_ASSERT_EQUAL_FATAL(cfg_server_add(&c, added, "main", 1, NULL, err, sizeof(err)),
				      0);
		for (unsigned k = 0; k < N_KEYS; k++) {
			const char *now = owner(&c, k);

			if (strcmp(now, added) == 0)
				moved++;
			else if (strcmp(now, before[k]) != 0)
				wrong++;
		}
		frac = (double)moved / N_KEYS;
		printf("# hash: %u -> %u servers: %.2f%% of %d keys moved (ideal %.2f%%), %u moved "
		       "between old servers\n",
		       n, n + 1, frac * 100, N_KEYS, expect * 100, wrong);
		CU_ASSERT_EQUAL(wrong, 0);
		CU_ASSERT_TRUE(frac > expect * 0.6 && frac < expect * 1.5);
		cfg_free(&c);
	}
}

static void test_hash_remove_and_weights(void)
{
	const char *gone = "10.0.0.5:11211";
	unsigned moved = 0, wrong = 0, share[11] = {0};
	struct cfg c;
	double frac;

	fleet(&c, 10);
	for (unsigned k = 0; k < N_KEYS; k++)
		snprintf(before[k], CFG_ADDR_MAX, "%s", owner(&c, k));
	CU_ASSERT_EQUAL_FATAL(cfg_server_remove(&c, gone, err, sizeof(err)), 0);
	for (unsigned k = 0; k < N_KEYS; k++) {
		const char *now = owner(&c, k);

		if (strcmp(before[k], gone) == 0)
			moved++;
		else if (strcmp(now, before[k]) != 0)
			wrong++;
	}
	frac = (double)moved / N_KEYS;
	printf("# hash: removing 1 of 10 servers moved %.2f%% of keys (ideal 10%%), %u others\n",
	       frac * 100, wrong);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_TRUE(frac > 0.06 && frac < 0.15);
	/* Weights: a weight-3 server gets about three shares; all shares near fair. */
	CU_ASSERT_EQUAL_FATAL(
	    cfg_server_add(&c, "10.0.8.8:11211", "main", 3, NULL, err, sizeof(err)), 0);
	for (unsigned k = 0; k < N_KEYS; k++) {
		const char *now = owner(&c, k);

		for (unsigned i = 0; i < c.n_servers; i++)
			if (strcmp(c.servers[i].addr, now) == 0)
				share[i < 11 ? i : 10]++;
	}
	for (unsigned i = 0; i < c.n_servers && i < 11; i++) {
		double fair = (double)N_KEYS * c.servers[i].weight / 12.0;

		if (strcmp(c.servers[i].pool, "main") != 0)
			continue;
		printf("# hash: %s weight %u: %.2f of its fair share\n", c.servers[i].addr,
		       c.servers[i].weight, share[i] / fair);
		CU_ASSERT_TRUE(share[i] > fair * 0.7 && share[i] < fair * 1.3);
	}
	cfg_free(&c);
}

/* The ring depends on the servers, not on the order they were added in. */
static void test_hash_order_independent(void)
{
	struct cfg a, b;
	char addr[32];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fleet(&a, 0);
	fleet(&b, 0);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(addr, sizeof(addr), "10.0.5.%u:11211", i);
		cfg_server_add(&a, addr, "main", 1 + i % 3, NULL, err, sizeof(err));
		snprintf(addr, sizeof(addr), "10.0.5.%u:11211", 7 - i);
		cfg_server_add(&b, addr, "main", 1 + (7 - i) % 3, NULL, err, sizeof(err));
	}
	for (unsigned k = 0; k < 5000; k++)
		CU_ASSERT_STRING_EQUAL(owner(&a, k), owner(&b, k));
	/* And the hash of a key is frozen: clients in other languages must agree. */
	CU_ASSERT_EQUAL(cfg_key_hash("", 0), 0x2D06800538D394C2ULL);
	cfg_free(&a);
	cfg_free(&b);
}

static const struct cunit_test tests[] = {
	{"model invariants", test_model_invariants},
	{"JSON round trip", test_json_round_trip},
	{"bad documents are refused whole", test_json_refused},
	{"damaged documents: no crash, no half load", test_json_mutations},
	{"routes by prefix, regional, replicated", test_routes_by_prefix},
	{"TKO keys go to the gutter, no rehash", test_tko_goes_to_gutter},
	{"adding a server moves ~1/N of keys", test_hash_stability},
	{"removing a server, weights", test_hash_remove_and_weights},
	{"ring is order independent, hash frozen", test_hash_order_independent},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("control", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
