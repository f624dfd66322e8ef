/*
 * The control socket's commands (docs/CONTROL.md). A request is one line of
 * words: OBJECT VERB [NAME] [key=value ...]; the reply is one line of JSON,
 * {"ok":true,...} or {"ok":false,"error":"..."}. Changes are applied by the
 * leader only, through ctld_commit(), so each one is checked, versioned,
 * stored and published, or refused whole.
 */
#include "ctld.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define WORDS_MAX 12 /* key=value arguments of one request */

struct request {
	const char *object; /* region, cluster, pool, server, config, status, ... */
	const char *verb;
	const char *name;
	const char *key[WORDS_MAX];
	const char *val[WORDS_MAX];
	int n_kv;
};

static const char *arg(const struct request *r, const char *key)
{
	for (int i = 0; i < r->n_kv; i++)
		if (strcmp(r->key[i], key) == 0)
			return r->val[i];
	return NULL;
}

/* Split @p line in place; 0, or -1 with a message in @p err. */
static int parse(char *line, struct request *r, char *err, size_t errlen)
{
	char *words[WORDS_MAX + 3], *save = NULL, *w; /* object, verb, name, arguments */
	int n = 0;

	memset(r, 0, sizeof(*r));
	for (w = strtok_r(line, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (n == WORDS_MAX + 3) {
			snprintf(err, errlen, "too many words");
			return -1;
		}
		words[n++] = w;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty command");
		return -1;
	}
	r->object = words[0];
	r->verb = n > 1 ? words[1] : "";
	for (int i = 2; i < n; i++) {
		char *eq = strchr(words[i], '=');

		if (eq == NULL) {
			if (r->name != NULL || r->n_kv > 0) {
				snprintf(err, errlen,
					 "unexpected word '%s' (arguments are key=value)",
					 words[i]);
				return -1;
			}
			r->name = words[i];
			continue;
		}
		if (r->n_kv == WORDS_MAX) {
			snprintf(err, errlen, "more than %d key=value arguments", WORDS_MAX);
			return -1;
		}
		*eq = '\0';
		if (arg(r, words[i]) != NULL) {
			snprintf(err, errlen, "%s= given twice", words[i]);
			return -1;
		}
		r->key[r->n_kv] = words[i];
		r->val[r->n_kv++] = eq + 1;
	}
	return 0;
}

/* Refuse keys outside @p allowed (a NULL-terminated list). */
static int only_keys(const struct request *r, const char *const *allowed, char *err, size_t errlen)
{
	for (int i = 0; i < r->n_kv; i++) {
		const char *const *a;

		for (a = allowed; *a != NULL && strcmp(*a, r->key[i]) != 0; a++)
			;
		if (*a == NULL) {
			snprintf(err, errlen, "%s %s: unknown argument '%s='", r->object, r->verb,
				 r->key[i]);
			return -1;
		}
	}
	return 0;
}

static int parse_uint(const char *s, const char *what, unsigned max, unsigned *out, char *err,
		      size_t errlen)
{
	char *end;
	unsigned long v;

	if (s == NULL)
		return 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || s[0] == '-' || v > max) {
		snprintf(err, errlen, "%s: '%s' is not 0..%u", what, s, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int copy_field(char *dst, size_t size, const char *src, const char *what, char *err,
		      size_t errlen)
{
	if (src == NULL)
		return 0;
	if (strlen(src) >= size) {
		snprintf(err, errlen, "%s: longer than %zu bytes", what, size - 1);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

static int pool_spec(const struct request *r, struct cfg_pool *p, char *err, size_t errlen)
{
	static const char *const keys[] = {"cluster",  "region", "kind", "prefix",
					   "replicas", "ttl",	 NULL};
	const char *kind = arg(r, "kind");

	memset(p, 0, sizeof(*p));
	if (only_keys(r, keys, err, errlen) < 0)
		return -EINVAL;
	if (kind != NULL && cfg_pool_kind_parse(kind, &p->kind) < 0) {
		snprintf(err, errlen, "kind: '%s' is not wildcard|named|replicated|regional|gutter",
			 kind);
		return -EINVAL;
	}
	if (kind == NULL && arg(r, "prefix") != NULL)
		p->kind = CFG_POOL_NAMED; /* a prefix names the pool's keys */
	if (copy_field(p->name, sizeof(p->name), r->name, "pool name", err, errlen) < 0 ||
	    copy_field(p->cluster, sizeof(p->cluster), arg(r, "cluster"), "cluster", err, errlen) <
		0 ||
	    copy_field(p->region, sizeof(p->region), arg(r, "region"), "region", err, errlen) < 0 ||
	    copy_field(p->prefix, sizeof(p->prefix), arg(r, "prefix"), "prefix", err, errlen) < 0 ||
	    parse_uint(arg(r, "replicas"), "replicas", CFG_REPLICAS_MAX, &p->replicas, err,
		       errlen) < 0 ||
	    parse_uint(arg(r, "ttl"), "ttl", 86400 * 30, &p->ttl, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

/* The mutation behind every changing command; runs on a copy of the config. */
static int apply(struct cfg *c, void *argp, char *err, size_t errlen)
{
	const struct request *r = argp;
	static const char *const none[] = {NULL};
	static const char *const cluster_keys[] = {"region", NULL};
	static const char *const server_keys[] = {"pool", "weight", "admin", NULL};
	const char *o = r->object, *v = r->verb;

	if (r->name == NULL) {
		snprintf(err, errlen, "%s %s: which %s?", o, v, o);
		return -EINVAL;
	}
	if (strcmp(o, "pool") == 0 && strcmp(v, "add") == 0) {
		struct cfg_pool p;

		if (pool_spec(r, &p, err, errlen) < 0)
			return -EINVAL;
		return cfg_pool_add(c, &p, err, errlen);
	}
	if (strcmp(o, "server") == 0 && strcmp(v, "add") == 0) {
		unsigned weight = 1;

		if (only_keys(r, server_keys, err, errlen) < 0 ||
		    parse_uint(arg(r, "weight"), "weight", CFG_WEIGHT_MAX, &weight, err, errlen) <
			0)
			return -EINVAL;
		if (weight == 0) {
			snprintf(err, errlen, "weight: must be 1..%d", CFG_WEIGHT_MAX);
			return -EINVAL;
		}
		return cfg_server_add(c, r->name, arg(r, "pool"), weight, arg(r, "admin"), err,
				      errlen);
	}
	if (strcmp(o, "cluster") == 0 && strcmp(v, "add") == 0)
		return only_keys(r, cluster_keys, err, errlen) < 0
			   ? -EINVAL
			   : cfg_cluster_add(c, r->name, arg(r, "region"), err, errlen);
	if (only_keys(r, none, err, errlen) < 0)
		return -EINVAL;
	if (strcmp(o, "region") == 0)
		return strcmp(v, "add") == 0 ? cfg_region_add(c, r->name, err, errlen)
					     : cfg_region_remove(c, r->name, err, errlen);
	if (strcmp(o, "cluster") == 0)
		return cfg_cluster_remove(c, r->name, err, errlen);
	if (strcmp(o, "pool") == 0)
		return cfg_pool_remove(c, r->name, err, errlen);
	if (strcmp(v, "remove") == 0)
		return cfg_server_remove(c, r->name, err, errlen);
	return cfg_server_set_drain(c, r->name, strcmp(v, "drain") == 0, err, errlen);
}

static void reply_json(struct ctl_client *cl, json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (text == NULL) {
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";

		ctl_client_send(cl, oom, sizeof(oom) - 1);
	} else {
		ctl_client_send(cl, text, strlen(text));
		ctl_client_send(cl, "\n", 1);
	}
	free(text);
	json_decref(o);
}

static void reply_error(struct ctld *d, struct ctl_client *cl, const char *msg)
{
	d->n.command_errors++;
	reply_json(cl, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

static void reply_ok(struct ctl_client *cl, uint64_t version)
{
	reply_json(cl, json_pack("{s:b, s:I}", "ok", 1, "version", (json_int_t)version));
}

/* {"ok":true,"version":N,"config":DOC}: the document is spliced in, not re-encoded. */
void ctld_send_config(struct ctld *d, struct ctl_client *cl)
{
	char head[64];
	int n = snprintf(head, sizeof(head),
			 "{\"ok\":true,\"version\":%" PRIu64 ",\"config\":", d->cfg.version);

	ctl_client_send(cl, head, (size_t)n);
	ctl_client_send(cl, d->doc, strlen(d->doc));
	ctl_client_send(cl, "}\n", 2);
}

static json_t *list(const struct ctld *d, const char *object)
{
	const struct cfg *c = &d->cfg;
	json_t *a = json_array();

	if (strcmp(object, "region") == 0) {
		for (size_t i = 0; i < c->n_regions; i++)
			json_array_append_new(a, json_pack("{s:s}", "name", c->regions[i].name));
	} else if (strcmp(object, "cluster") == 0) {
		for (size_t i = 0; i < c->n_clusters; i++)
			json_array_append_new(a,
					      json_pack("{s:s, s:s}", "name", c->clusters[i].name,
							"region", c->clusters[i].region));
	} else if (strcmp(object, "pool") == 0) {
		for (size_t i = 0; i < c->n_pools; i++) {
			const struct cfg_pool *p = &c->pools[i];
			size_t n = 0;

			for (size_t j = 0; j < c->n_servers; j++)
				n += strcmp(c->servers[j].pool, p->name) == 0;
			json_array_append_new(
			    a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i}", "name",
					 p->name, "kind", cfg_pool_kind_name(p->kind), "cluster",
					 p->cluster, "region", p->region, "prefix", p->prefix,
					 "replicas", (json_int_t)p->replicas, "ttl",
					 (json_int_t)p->ttl, "servers", (json_int_t)n));
		}
	} else {
		for (size_t i = 0; i < c->n_servers; i++) {
			const struct cfg_server *s = &c->servers[i];

			json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:s, s:b, s:b}", "addr",
							   s->addr, "pool", s->pool, "weight",
							   (json_int_t)s->weight, "admin", s->admin,
							   "tko", s->tko, "draining", s->draining));
		}
	}
	return json_pack("{s:b, s:I, s:o}", "ok", 1, "version", (json_int_t)c->version, "items", a);
}

static json_t *counters_json(const struct health_counters *n)
{
	json_t *o = json_object();

#define HEALTH_COUNTER_JSON(name) json_object_set_new(o, #name, json_integer((json_int_t)n->name));
	HEALTH_COUNTERS(HEALTH_COUNTER_JSON)
#undef HEALTH_COUNTER_JSON
	return o;
}

/*
 * Per cluster: its servers, its gutter's, and advice when the gutter is
 * missing or far from the paper's ~1% (at least one server).
 */
static json_t *clusters_json(const struct cfg *c)
{
	json_t *a = json_array();

	for (size_t k = 0; k < c->n_clusters; k++) {
		const struct cfg_cluster *cl = &c->clusters[k];
		const struct cfg_pool *g = cfg_gutter_of(c, cl->name);
		unsigned n = 0, ng = 0, tko = 0;
		const char *advice = "";

		for (size_t i = 0; i < c->n_servers; i++) {
			const struct cfg_pool *p = cfg_pool_find(c, c->servers[i].pool);

			if (p == NULL || strcmp(p->cluster, cl->name) != 0)
				continue;
			if (p == g)
				ng++;
			else
				n++;
			tko += c->servers[i].tko;
		}
		if (g == NULL && n > 0)
			advice = "no gutter pool: keys of a TKO server have no route";
		else if (g != NULL && ng == 0 && n > 0)
			advice = "the gutter pool has no servers";
		else if (ng * 200 < n)
			advice = "gutter below 0.5% of the cluster's servers";
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:i, s:s, s:i, s:i, s:s}", "name", cl->name, "region",
				 cl->region, "servers", (json_int_t)n, "gutter",
				 g != NULL ? g->name : "", "gutter_servers", (json_int_t)ng, "tko",
				 (json_int_t)tko, "advice", advice));
	}
	return a;
}

static json_t *status(struct ctld *d)
{
	json_t *servers = json_array(), *o;
	char role[256];

	d->store.ops->describe(&d->store, role, sizeof(role));
	for (size_t i = 0; i < d->cfg.n_servers; i++) {
		const struct cfg_server *s = &d->cfg.servers[i];
		struct probe *p = d->leader ? health_find(&d->health, s->addr) : NULL;
		int reg = d->store.ops->registered(&d->store, s->addr);

		o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "addr", s->addr, "pool", s->pool,
			      "state",
			      s->tko	    ? "tko"
			      : s->draining ? "draining"
					    : "up",
			      "weight", (json_int_t)s->weight, "admin", s->admin);
		if (reg >= 0)
			json_object_set_new(o, "registered", json_boolean(reg));
		if (p != NULL) {
			json_object_set_new(o, "fails", json_integer(p->fails));
			json_object_set_new(o, "oks", json_integer(p->oks));
			json_object_set_new(o, "last_rtt_ms",
					    json_integer((json_int_t)p->last_rtt_ms));
			json_object_set_new(o, "last_error", json_string(p->last_error));
			json_object_set_new(o, "probe_interval_ms", json_integer(p->backoff_ms));
			json_object_set_new(o, "counters", counters_json(&p->n));
		}
		json_array_append_new(servers, o);
	}
	return json_pack(
	    "{s:b, s:s, s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o}", "ok", 1,
	    "id", d->opt.id, "role", d->leader ? "leader" : "follower", "store", role, "version",
	    (json_int_t)d->cfg.version, "uptime_s",
	    (json_int_t)((health_now_ms() - d->started_ms) / 1000), "counters", "commands",
	    (json_int_t)d->n.commands, "command_errors", (json_int_t)d->n.command_errors,
	    "versions_published", (json_int_t)d->n.versions_published, "store_errors",
	    (json_int_t)d->n.store_errors, "clients_refused", (json_int_t)d->n.clients_refused,
	    "health", counters_json(&d->health.total), "clusters", clusters_json(&d->cfg),
	    "servers", servers);
}

static int is_mutation(const struct request *r)
{
	static const char *const objects[] = {"region", "cluster", "pool", NULL};
	const char *v = r->verb;

	for (const char *const *o = objects; *o != NULL; o++)
		if (strcmp(r->object, *o) == 0)
			return strcmp(v, "add") == 0 || strcmp(v, "remove") == 0;
	return strcmp(r->object, "server") == 0 &&
	       (strcmp(v, "add") == 0 || strcmp(v, "remove") == 0 || strcmp(v, "drain") == 0 ||
		strcmp(v, "undrain") == 0);
}

static int is_list(const struct request *r)
{
	return strcmp(r->verb, "list") == 0 &&
	       (strcmp(r->object, "region") == 0 || strcmp(r->object, "cluster") == 0 ||
		strcmp(r->object, "pool") == 0 || strcmp(r->object, "server") == 0);
}

/* The commands that only read: lists, status, ping, config get|watch. */
static int is_read(const struct request *r)
{
	if (is_list(r))
		return 1;
	if (strcmp(r->object, "status") == 0 || strcmp(r->object, "ping") == 0)
		return r->verb[0] == '\0';
	return strcmp(r->object, "config") == 0 &&
	       (strcmp(r->verb, "get") == 0 || strcmp(r->verb, "watch") == 0);
}

void ctld_command(struct ctld *d, struct ctl_client *cl, char *line)
{
	char err[400];
	struct request r;

	d->n.commands++;
	if (parse(line, &r, err, sizeof(err)) < 0) {
		reply_error(d, cl, err);
		return;
	}
	if (is_mutation(&r)) {
		char role[256];

		if (!d->leader) {
			d->store.ops->describe(&d->store, role, sizeof(role));
			snprintf(err, sizeof(err), "not the leader: %s", role);
			reply_error(d, cl, err);
		} else if (ctld_commit(d, apply, &r, err, sizeof(err)) < 0) {
			reply_error(d, cl, err);
		} else {
			reply_ok(cl, d->cfg.version);
		}
		return;
	}
	if (!is_read(&r)) {
		snprintf(err, sizeof(err), "unknown command '%s%s%s'", r.object,
			 r.verb[0] ? " " : "", r.verb);
		reply_error(d, cl, err);
	} else if (r.name != NULL || r.n_kv > 0) {
		snprintf(err, sizeof(err), "'%s%s%s' takes no arguments", r.object,
			 r.verb[0] ? " " : "", r.verb);
		reply_error(d, cl, err);
	} else if (is_list(&r)) {
		reply_json(cl, list(d, r.object));
	} else if (strcmp(r.object, "status") == 0) {
		reply_json(cl, status(d));
	} else if (strcmp(r.object, "ping") == 0) {
		reply_ok(cl, d->cfg.version);
	} else {
		cl->watching |= strcmp(r.verb, "watch") == 0;
		ctld_send_config(d, cl);
	}
}
