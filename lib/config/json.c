/*
 * The routing config as a JSON document (jansson). Loading replays the
 * document through the model's mutations, so every invariant holds for a
 * loaded config or the load fails as a whole.
 */
#include "config_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define FORMAT 1 /* bumped on incompatible changes of the document */

static json_t *pool_json(const struct cfg *c, const struct cfg_pool *p)
{
	json_t *servers = json_array();
	json_t *o;

	for (size_t i = 0; i < c->n_servers; i++) {
		const struct cfg_server *s = &c->servers[i];
		const char *state = s->tko ? "tko" : s->draining ? "draining" : "up";

		if (strcmp(s->pool, p->name) != 0)
			continue;
		o = json_pack("{s:s, s:i, s:s, s:b, s:b}", "addr", s->addr, "weight",
			      (json_int_t)s->weight, "state", state, "tko", s->tko, "draining",
			      s->draining);
		if (o != NULL && s->admin[0] != '\0')
			json_object_set_new(o, "admin", json_string(s->admin));
		json_array_append_new(servers, o);
	}
	o = json_pack("{s:s, s:s, s:i, s:i, s:o}", "name", p->name, "kind",
		      cfg_pool_kind_name(p->kind), "replicas", (json_int_t)p->replicas, "ttl",
		      (json_int_t)p->ttl, "servers", servers);
	if (o == NULL)
		return NULL;
	if (p->kind == CFG_POOL_REGIONAL)
		json_object_set_new(o, "region", json_string(p->region));
	else
		json_object_set_new(o, "cluster", json_string(p->cluster));
	if (p->prefix[0] != '\0')
		json_object_set_new(o, "prefix", json_string(p->prefix));
	return o;
}

char *cfg_to_json(const struct cfg *c)
{
	json_t *doc, *regions = json_array(), *clusters = json_array(), *pools = json_array();
	json_t *tko = json_array();
	char *text;

	for (size_t i = 0; i < c->n_regions; i++)
		json_array_append_new(regions, json_pack("{s:s}", "name", c->regions[i].name));
	for (size_t i = 0; i < c->n_clusters; i++)
		json_array_append_new(clusters, json_pack("{s:s, s:s}", "name", c->clusters[i].name,
							  "region", c->clusters[i].region));
	for (size_t i = 0; i < c->n_pools; i++)
		json_array_append_new(pools, pool_json(c, &c->pools[i]));
	for (size_t i = 0; i < c->n_servers; i++)
		if (c->servers[i].tko)
			json_array_append_new(tko, json_string(c->servers[i].addr));
	doc = json_pack("{s:i, s:I, s:{s:s, s:i}, s:o, s:o, s:o, s:o}", "format", FORMAT, "version",
			(json_int_t)c->version, "hash", "name", CFG_HASH_NAME, "points_per_weight",
			CFG_POINTS_PER_WEIGHT, "regions", regions, "clusters", clusters, "pools",
			pools, "tko", tko);
	if (doc == NULL)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static int copy_str(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size)
		return -1;
	strcpy(dst, src);
	return 0;
}

static int load_pool(struct cfg *c, json_t *jp, char *err, size_t errlen)
{
	struct cfg_pool spec;
	json_int_t replicas = 0, ttl = 0;
	const char *name = NULL, *kind = NULL;
	json_t *servers, *js;
	size_t i;
	int rc;

	memset(&spec, 0, sizeof(spec));
	if (json_unpack(jp, "{s:s, s:s, s?I, s?I, s:o}", "name", &name, "kind", &kind, "replicas",
			&replicas, "ttl", &ttl, "servers", &servers) < 0 ||
	    !json_is_array(servers) || replicas < 0 || replicas > CFG_REPLICAS_MAX || ttl < 0 ||
	    ttl > 86400 * 30) {
		snprintf(err, errlen, "a pool lacks name/kind/servers or has bad numbers");
		return -EINVAL;
	}
	if (cfg_pool_kind_parse(kind, &spec.kind) < 0) {
		snprintf(err, errlen, "pool '%s': unknown kind '%s'", name, kind);
		return -EINVAL;
	}
	if (copy_str(spec.name, sizeof(spec.name), name) < 0 ||
	    copy_str(spec.cluster, sizeof(spec.cluster), str_or(jp, "cluster", "")) < 0 ||
	    copy_str(spec.region, sizeof(spec.region), str_or(jp, "region", "")) < 0 ||
	    copy_str(spec.prefix, sizeof(spec.prefix), str_or(jp, "prefix", "")) < 0) {
		snprintf(err, errlen, "pool '%s': a name or prefix is too long", name);
		return -EINVAL;
	}
	spec.replicas = (unsigned)replicas;
	spec.ttl = (unsigned)ttl;
	rc = cfg_pool_add(c, &spec, err, errlen);
	if (rc < 0)
		return rc;
	json_array_foreach(servers, i, js)
	{
		const char *addr = NULL;
		json_int_t weight = 1;
		int tko = 0, draining = 0;

		if (json_unpack(js, "{s:s, s?I, s?b, s?b}", "addr", &addr, "weight", &weight, "tko",
				&tko, "draining", &draining) < 0 ||
		    weight < 1 || weight > CFG_WEIGHT_MAX) {
			snprintf(err, errlen, "pool '%s': a server lacks addr or has a bad weight",
				 name);
			return -EINVAL;
		}
		rc = cfg_server_add_unbuilt(c, addr, name, (unsigned)weight,
					    str_or(js, "admin", NULL), err, errlen);
		if (rc < 0)
			return rc;
		cfg_server_find(c, addr)->tko = tko;
		cfg_server_find(c, addr)->draining = draining;
	}
	return 0;
}

static int load(struct cfg *c, json_t *doc, char *err, size_t errlen)
{
	json_t *regions, *clusters, *pools, *v;
	json_int_t version, format;
	size_t i;
	int rc;

	if (json_unpack(doc, "{s:I, s:I, s:o, s:o, s:o}", "format", &format, "version", &version,
			"regions", &regions, "clusters", &clusters, "pools", &pools) < 0 ||
	    !json_is_array(regions) || !json_is_array(clusters) || !json_is_array(pools)) {
		snprintf(err, errlen,
			 "not a dpcache config (format, version, regions, "
			 "clusters, pools)");
		return -EINVAL;
	}
	if (format != FORMAT || version < 0) {
		snprintf(err, errlen,
			 "config format %" PRId64 " version %" PRId64
			 " not understood (want format %d)",
			 (int64_t)format, (int64_t)version, FORMAT);
		return -EINVAL;
	}
	v = json_object_get(doc, "hash");
	if (v != NULL && strcmp(str_or(v, "name", ""), CFG_HASH_NAME) != 0) {
		snprintf(err, errlen, "config hash is not %s", CFG_HASH_NAME);
		return -EINVAL;
	}
	c->version = (uint64_t)version;
	json_array_foreach(regions, i, v)
	{
		rc = cfg_region_add(c, str_or(v, "name", ""), err, errlen);
		if (rc < 0)
			return rc;
	}
	json_array_foreach(clusters, i, v)
	{
		rc =
		    cfg_cluster_add(c, str_or(v, "name", ""), str_or(v, "region", ""), err, errlen);
		if (rc < 0)
			return rc;
	}
	json_array_foreach(pools, i, v)
	{
		rc = load_pool(c, v, err, errlen);
		if (rc < 0)
			return rc;
	}
	return cfg_build(c);
}

int cfg_from_json(struct cfg *c, const char *text, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	memset(c, 0, sizeof(*c));
	if (doc == NULL) {
		snprintf(err, errlen, "bad JSON at line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
		return -EINVAL;
	}
	rc = load(c, doc, err, errlen);
	json_decref(doc);
	if (rc < 0)
		cfg_free(c);
	return rc;
}

int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc;
	int rc;

	memset(c, 0, sizeof(*c));
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		rc = access(path, R_OK) < 0 && errno == ENOENT ? -ENOENT : -EINVAL;
		snprintf(err, errlen, "%s: %s", path, jerr.text);
		return rc;
	}
	rc = load(c, doc, err, errlen);
	json_decref(doc);
	if (rc < 0)
		cfg_free(c);
	return rc;
}
