/*
 * dpcache-ctld's state: the state file survives kill -9 at any point, config
 * versions only grow (commit, failed commit, adopt), and the health state
 * machine (K failures → TKO, backoff, M successes → back).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cunit_tap.h"
#include "ctld.h"

static char dir[64];
static char err[256];

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/dpcache-ut.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A config of @p servers servers. */
static void make_cfg(struct cfg *c, unsigned servers)
{
	char addr[32];

	memset(c, 0, sizeof(*c));
	cfg_region_add(c, "r1", err, sizeof(err));
	cfg_cluster_add(c, "c1", "r1", err, sizeof(err));
	{
		struct cfg_pool p = {.kind = CFG_POOL_WILDCARD};

		strcpy(p.name, "main");
		strcpy(p.cluster, "c1");
		cfg_pool_add(c, &p, err, sizeof(err));
	}
	for (unsigned i = 0; i < servers; i++) {
		snprintf(addr, sizeof(addr), "10.%u.%u.%u:11211", i >> 16, (i >> 8) & 255, i & 255);
		cfg_server_add(c, addr, "main", 1, NULL, err, sizeof(err));
	}
}

/* The document of a config of @p servers servers at @p version. */
static char *doc_of(unsigned version, unsigned servers)
{
	struct cfg c;
	char *doc;

	make_cfg(&c, servers);
	c.version = version;
	doc = cfg_to_json(&c);
	cfg_free(&c);
	return doc;
}

/* Load the state file and return its version (-1: unreadable or invalid). */
static long load_version(const char *path)
{
	struct cfg c;
	char *doc;
	long v;

	if (state_file_read(path, &doc, err, sizeof(err)) < 0 || doc == NULL)
		return -1;
	if (cfg_from_json(&c, doc, err, sizeof(err)) < 0) {
		free(doc);
		return -1;
	}
	v = (long)c.version;
	cfg_free(&c);
	free(doc);
	return v;
}

/* Milliseconds on the monotonic clock. */
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Poll (cheaply: stat, not a parse) until @p path has been replaced since
 * @p before or @p max_ms have passed; 1 if it was. A writer only renames
 * newer versions over it, so a new inode or mtime means a new version.
 */
static int wait_replaced(const char *path, const struct stat *before, long max_ms)
{
	long deadline = now_ms() + max_ms;
	struct stat sb;

	do {
		if (stat(path, &sb) == 0 &&
		    (sb.st_ino != before->st_ino || sb.st_mtim.tv_sec != before->st_mtim.tv_sec ||
		     sb.st_mtim.tv_nsec != before->st_mtim.tv_nsec))
			return 1;
		usleep(1000);
	} while (now_ms() < deadline);
	return 0;
}

#define KILL9_ROUNDS	     60
#define KILL9_PROGRESS_EVERY 3	   /* every third round checks progress */
#define KILL9_PROGRESS_MS    10000 /* a generous bound for one fsync'd write */

/*
 * A child rewrites the state file as fast as it can (documents of varying
 * size, growing versions); the parent kills it with SIGKILL at a random
 * moment, then the file must load and its version must not have gone back.
 *
 * How many writes fit in a random 2..42 ms depends on the machine's load
 * (each one is fsync'd twice), so progress is not measured against the
 * clock: every third round first waits (polling, bounded) until the child
 * has replaced the file, then kills it after the random delay, and must see
 * a newer version. The other rounds kill at any moment, the child's first
 * write included.
 */
static void test_state_file_kill9(void)
{
	static struct cfg sizes[4];
	const unsigned n_servers[4] = {1, 40, 120, 250};
	char path[128];
	long last = 0;
	unsigned loaded = 0, progress_rounds = 0, progressed = 0;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	srand((unsigned)time(NULL));
	for (int i = 0; i < 4; i++)
		make_cfg(&sizes[i], n_servers[i]);
	{
		char *doc = doc_of(1, 1);

		CU_ASSERT_EQUAL_FATAL(state_file_write(path, doc, err, sizeof(err)), 0);
		free(doc);
	}
	for (unsigned round = 0; round < KILL9_ROUNDS; round++) {
		int check_progress = round % KILL9_PROGRESS_EVERY == KILL9_PROGRESS_EVERY - 1;
		struct stat before;
		pid_t pid;
		int status = 0;
		long v;

		CU_ASSERT_FATAL(stat(path, &before) == 0);
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			for (unsigned i = 1;; i++) {
				struct cfg *c = &sizes[i % 4];
				char *doc;

				c->version = (uint64_t)last + i;
				doc = cfg_to_json(c);

				if (state_file_write(path, doc, err, sizeof(err)) < 0)
					_exit(1);
				free(doc);
			}
		}
		if (check_progress) {
			progress_rounds++;
			if (!wait_replaced(path, &before, KILL9_PROGRESS_MS)) {
				printf("# round %u: no new version in %d ms (still %ld)\n", round,
				       KILL9_PROGRESS_MS, last);
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				break;
			}
		}
		usleep((useconds_t)(2000 + rand() % 40000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		CU_ASSERT(WIFSIGNALED(status)); /* killed, not failed: every write succeeded */
		v = load_version(path);
		CU_ASSERT(v >= last);
		if (v < last) {
			printf("# round %u: state file version %ld after %ld (%s)\n", round, v,
			       last, err);
			break;
		}
		loaded += v > last;
		progressed += check_progress && v > last;
		last = v;
	}
	printf("# state file: %d kill -9 rounds, every load good, %u rounds saw new versions "
	       "(%u of %u that waited for one), last version %ld\n",
	       KILL9_ROUNDS, loaded, progressed, progress_rounds, last);
	/* the writer did make progress between kills */
	CU_ASSERT_EQUAL(progressed, KILL9_ROUNDS / KILL9_PROGRESS_EVERY);
	for (int i = 0; i < 4; i++)
		cfg_free(&sizes[i]);
}

static void test_state_file_missing_and_garbage(void)
{
	char path[128], *doc = (char *)1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/none.json", dir);
	CU_ASSERT_EQUAL(state_file_read(path, &doc, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(doc);
	/* A leftover temporary file of a killed writer changes nothing. */
	snprintf(path, sizeof(path), "%s/state2.json", dir);
	doc = doc_of(5, 2);
	CU_ASSERT_EQUAL(state_file_write(path, doc, err, sizeof(err)), 0);
	free(doc);
	snprintf(path, sizeof(path), "%s/state2.json.tmp", dir);
	f = fopen(path, "w");
	fputs("{\"format\":1,\"vers", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/state2.json", dir);
	CU_ASSERT_EQUAL(load_version(path), 5);
	doc = doc_of(6, 2);
	CU_ASSERT_EQUAL(state_file_write(path, doc, err, sizeof(err)), 0);
	free(doc);
	CU_ASSERT_EQUAL(load_version(path), 6);
}

static int add_region(struct cfg *c, void *arg, char *e, size_t elen)
{
	return cfg_region_add(c, arg, e, elen);
}

static void test_config_versions(void)
{
	static struct ctld d;
	char state[128], out[128], name[16], *doc, *published;
	long v;

	snprintf(state, sizeof(state), "%s/ctld-state.json", dir);
	snprintf(out, sizeof(out), "%s/config.json", dir);
	memset(&d, 0, sizeof(d));
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		d.clients[i].fd = -1;
	d.opt.config_out = out;
	d.opt.id = "test";
	CU_ASSERT_EQUAL_FATAL(store_file_open(&d.store, state, err, sizeof(err)), 0);
	/* A second ctld on the same state file is refused. */
	{
		struct store other;

		CU_ASSERT_EQUAL(store_file_open(&other, state, err, sizeof(err)), -EBUSY);
	}
	d.doc = cfg_to_json(&d.cfg);
	d.leader = 1;
	for (int i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		CU_ASSERT_EQUAL(ctld_commit(&d, add_region, name, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(d.cfg.version, (uint64_t)i);
	}
	/* A refused change publishes nothing. */
	CU_ASSERT_EQUAL(ctld_commit(&d, add_region, "r1", err, sizeof(err)), -EEXIST);
	CU_ASSERT_EQUAL(d.cfg.version, 5);
	CU_ASSERT_EQUAL(d.n.versions_published, 5);
	CU_ASSERT_EQUAL(load_version(state), 5);
	CU_ASSERT_EQUAL(state_file_read(out, &published, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(published);
	published[strcspn(published, "\n")] = '\0';
	CU_ASSERT_STRING_EQUAL(published, d.doc);
	free(published);
	/* Older or equal versions from the store are ignored; newer ones adopted. */
	doc = doc_of(3, 4);
	CU_ASSERT_EQUAL(ctld_adopt(&d, doc, err, sizeof(err)), 0);
	free(doc);
	CU_ASSERT_EQUAL(d.cfg.version, 5);
	CU_ASSERT_EQUAL(d.cfg.n_regions, 5);
	doc = doc_of(9, 4);
	CU_ASSERT_EQUAL(ctld_adopt(&d, doc, err, sizeof(err)), 0);
	free(doc);
	CU_ASSERT_EQUAL(d.cfg.version, 9);
	CU_ASSERT_EQUAL(d.cfg.n_servers, 4);
	CU_ASSERT_EQUAL(ctld_commit(&d, add_region, "r9", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(d.cfg.version, 10);
	/* A follower changes nothing. */
	d.leader = 0;
	CU_ASSERT_EQUAL(ctld_commit(&d, add_region, "r10", err, sizeof(err)), -EPERM);
	CU_ASSERT_EQUAL(d.cfg.version, 10);
	v = load_version(state);
	CU_ASSERT_EQUAL(v, 10);
	/* A garbage document is refused and changes nothing. */
	CU_ASSERT_TRUE(ctld_adopt(&d, "{\"format\":1}", err, sizeof(err)) < 0);
	CU_ASSERT_EQUAL(d.cfg.version, 10);
	d.store.ops->close(&d.store);
	cfg_free(&d.cfg);
	free(d.doc);
}

/* Send @p line to ctld as client 0; return its reply lines (consumed). */
static json_t *request(struct ctld *d, const char *line)
{
	struct ctl_client *cl = &d->clients[0];
	char buf[4096];
	json_t *reply;
	char *nl;

	snprintf(buf, sizeof(buf), "%s", line);
	cl->out_len = 0;
	ctld_command(d, cl, buf);
	if (cl->out_len == 0 || cl->out_len >= sizeof(buf))
		return NULL;
	memcpy(buf, cl->out, cl->out_len);
	buf[cl->out_len] = '\0';
	nl = strchr(buf, '\n');
	CU_ASSERT_PTR_NOT_NULL(nl);
	CU_ASSERT(nl == NULL || nl[1] == '\0'); /* exactly one line */
	reply = json_loads(buf, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(reply);
	return reply;
}

/* ok:true (and the version), or the error string, of one request. */
static void expect(struct ctld *d, const char *line, long version, const char *error)
{
	json_t *r = request(d, line);
	const char *e = json_string_value(json_object_get(r, "error"));

	if (error == NULL) {
		CU_ASSERT_TRUE(json_is_true(json_object_get(r, "ok")));
		if (version >= 0)
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "version")), version);
		if (e != NULL)
			printf("# '%s': unexpected error %s\n", line, e);
	} else {
		CU_ASSERT_TRUE(json_is_false(json_object_get(r, "ok")));
		CU_ASSERT_PTR_NOT_NULL(e);
		if (e != NULL && strstr(e, error) == NULL) {
			printf("# '%s': error '%s', expected '%s'\n", line, e, error);
			CU_FAIL("wrong error");
		}
	}
	json_decref(r);
}

static void test_commands(void)
{
	static struct ctld d;
	char state[128];
	json_t *r;
	int sv[2];

	snprintf(state, sizeof(state), "%s/cmd-state.json", dir);
	memset(&d, 0, sizeof(d));
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		d.clients[i].fd = -1;
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	d.clients[0].fd = sv[0];
	d.opt.id = "test";
	health_init(&d.health, &(struct health_params){100, 50, 3, 2, 400});
	CU_ASSERT_EQUAL_FATAL(store_file_open(&d.store, state, err, sizeof(err)), 0);
	d.doc = cfg_to_json(&d.cfg);
	d.leader = 1;

	expect(&d, "region add r1", 1, NULL);
	expect(&d, "region add r1", -1, "region 'r1' exists");
	expect(&d, "cluster add c1 region=r1 region=r1", -1, "region= given twice");
	expect(&d, "cluster add c1", -1, "needs region=NAME");
	expect(&d, "cluster add c1 region=r1", 2, NULL);
	expect(&d, "pool add p cluster=c1 kind=bogus", -1, "kind: 'bogus' is not");
	expect(&d, "pool add p cluster=c1", 3, NULL);
	expect(&d, "pool add s cluster=c1 prefix=sess:", 4, NULL);
	expect(&d, "pool add g cluster=c1 kind=gutter", 5, NULL);
	expect(&d, "server add 127.0.0.1:1 pool=p weight=0", -1, "weight");
	expect(&d, "server add 127.0.0.1:1 pool=p colour=red", -1, "unknown argument 'colour='");
	expect(&d, "server add 127.0.0.1:1 pool=p weight=2", 6, NULL);
	expect(&d, "server drain", -1, "which server?");
	expect(&d, "server drain 127.0.0.1:1", 7, NULL);
	expect(&d, "server frob 127.0.0.1:1", -1, "unknown command 'server frob'");
	expect(&d, "region list extra", -1, "takes no arguments");
	expect(&d, "pool remove p", -1, "still has server 127.0.0.1:1");
	expect(&d, "", -1, "empty command");
	expect(&d, "status", 7, NULL);
	expect(&d, "ping", 7, NULL);
	r = request(&d, "pool list");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
				   json_array_get(json_object_get(r, "items"), 1), "kind")),
			       "named");
	json_decref(r);
	r = request(&d, "config get");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "version")), 7);
	CU_ASSERT_EQUAL(
	    json_integer_value(json_object_get(json_object_get(r, "config"), "version")), 7);
	json_decref(r);
	/* A watcher gets the current version, then every new one. */
	r = request(&d, "config watch");
	CU_ASSERT_TRUE(d.clients[0].watching);
	json_decref(r);
	d.clients[0].out_len = 0;
	{
		const char *pushed = "{\"ok\":true,\"version\":8,\"config\":{";
		char line[] = "server undrain 127.0.0.1:1";
		char *out, *nl;

		ctld_command(&d, &d.clients[0], line);
		out = strndup(d.clients[0].out, d.clients[0].out_len);
		/* Two lines: version 8 pushed to the watcher, then the reply. */
		nl = strchr(out, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
		CU_ASSERT_EQUAL(strncmp(out, pushed, strlen(pushed)), 0);
		CU_ASSERT_STRING_EQUAL(nl + 1, "{\"ok\":true,\"version\":8}\n");
		free(out);
	}
	/* A follower refuses changes, serves reads. */
	d.leader = 0;
	expect(&d, "region add r2", -1, "not the leader");
	expect(&d, "config get", 8, NULL);

	close(sv[1]);
	close(sv[0]);
	free(d.clients[0].out);
	d.store.ops->close(&d.store);
	health_fini(&d.health);
	cfg_free(&d.cfg);
	free(d.doc);
}

static void test_health_machine(void)
{
	const struct health_params par = {.interval_ms = 100,
					  .timeout_ms = 50,
					  .tko_after = 3,
					  .recover_after = 2,
					  .backoff_max_ms = 500};
	struct probe p;
	uint64_t t = 1000;

	memset(&p, 0, sizeof(p));
	p.backoff_ms = par.interval_ms;
	p.started_ms = t; /* every probe here starts and ends at t */
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(health_record(&p, &par, 1, t), HEALTH_SAME); /* resets the count */
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(p.next_ms, t + 100);
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_WENT_TKO);
	CU_ASSERT_TRUE(p.tko);
	CU_ASSERT_EQUAL(p.n.tko_events, 1);
	/* While TKO the interval doubles up to the cap. */
	CU_ASSERT_EQUAL(p.next_ms, t + 200);
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(p.next_ms, t + 400);
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(p.next_ms, t + 500);
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(p.next_ms, t + 500);
	CU_ASSERT_EQUAL(p.n.tko_events, 1); /* one event per outage */
	/* M good probes in a row bring it back; a failure in between starts over. */
	CU_ASSERT_EQUAL(health_record(&p, &par, 1, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(p.next_ms, t + 100); /* confirm quickly */
	CU_ASSERT_EQUAL(health_record(&p, &par, 0, t), HEALTH_SAME);
	CU_ASSERT_TRUE(p.tko);
	CU_ASSERT_EQUAL(health_record(&p, &par, 1, t), HEALTH_SAME);
	CU_ASSERT_EQUAL(health_record(&p, &par, 1, t), HEALTH_RECOVERED);
	CU_ASSERT_FALSE(p.tko);
	CU_ASSERT_EQUAL(p.n.recoveries, 1);
	CU_ASSERT_EQUAL(p.n.probes_ok, 4);
	CU_ASSERT_EQUAL(p.n.probes_failed, 8);
}

/*
 * A healthy server's probes start one interval apart, start to start, however
 * long each took, so a hung server (every probe times out) is TKO within
 * K x interval + timeout of the hang, not K x (interval + timeout).
 */
static void test_health_schedule(void)
{
	const struct health_params par = {.interval_ms = 100,
					  .timeout_ms = 80,
					  .tko_after = 3,
					  .recover_after = 2,
					  .backoff_max_ms = 500};
	enum health_transition tr = HEALTH_SAME;
	struct probe p;
	uint64_t hang = 1010, t = 0;

	memset(&p, 0, sizeof(p));
	p.backoff_ms = par.interval_ms;
	p.started_ms = 1000;
	health_record(&p, &par, 1, 1003); /* a quick good probe */
	CU_ASSERT_EQUAL(p.next_ms, 1100);
	p.started_ms = 1100;
	health_record(&p, &par, 1, 1180); /* a slow one */
	CU_ASSERT_EQUAL(p.next_ms, 1200);
	p.started_ms = 1200;
	health_record(&p, &par, 1, 1350); /* slower than the interval: next one now */
	CU_ASSERT_EQUAL(p.next_ms, 1350);

	/* It hangs right after a good probe: each probe from now on times out. */
	memset(&p, 0, sizeof(p));
	p.backoff_ms = par.interval_ms;
	p.started_ms = 1000;
	health_record(&p, &par, 1, hang);
	for (int i = 0; i < 10 && tr != HEALTH_WENT_TKO; i++) {
		p.started_ms = p.next_ms;
		t = p.started_ms + par.timeout_ms;
		tr = health_record(&p, &par, 0, t);
	}
	CU_ASSERT_EQUAL(tr, HEALTH_WENT_TKO);
	CU_ASSERT_TRUE(t - hang <= par.tko_after * par.interval_ms + par.timeout_ms);
	CU_ASSERT_EQUAL(t, 1000 + 3 * 100 + 80); /* the third failed probe started at 1300 */
}

static const struct cunit_test tests[] = {
	{"state file survives kill -9 in a write loop", test_state_file_kill9},
	{"state file: missing, stale temporary", test_state_file_missing_and_garbage},
	{"config versions only grow", test_config_versions},
	{"control socket commands and replies", test_commands},
	{"health: K failures, backoff, M recoveries", test_health_machine},
	{"health: probes start an interval apart, a hung server within budget", test_health_schedule},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("control", setup, teardown, tests) < 0)
		return 1;
	return cunit_tap_run();
}
