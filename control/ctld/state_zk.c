/*
 * The ZooKeeper store (libzookeeper-mt).
 *
 * Layout under the root znode (--zk-root, default /dpcache):
 *   ROOT/state          the state document (the published config), one znode
 *   ROOT/election/n_NNN  one ephemeral sequential node per live ctld; data: its id
 *   ROOT/servers/H:P     ephemeral nodes of live cache servers (they register
 *                        themselves); a vanished node makes the leader probe
 *                        that server at once, the probes still decide TKO
 *
 * Election is ZooKeeper's standard recipe: the lowest sequence number leads;
 * every other instance watches only its predecessor (no herd when the leader
 * dies). A killed leader's node vanishes when its session expires, its
 * successor's watch fires and it takes over. The leader writes ROOT/state
 * with zoo_set() conditioned on the znode version it last read, so a deposed
 * leader that still believes it leads cannot overwrite newer state; each
 * document carries its own config version, and ctld adopts only newer ones,
 * so what is published never goes backwards.
 *
 * The library calls the watcher on its own thread; the watcher only records
 * what happened and writes to an eventfd that the daemon's poll loop watches.
 * All other calls (synchronous ones) run on the daemon's thread.
 */
#include "ctld.h"
#include "store.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define THREADED /* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>

#define ZK_DATA_MAX  (1 << 20) /* ZooKeeper's default jute.maxbuffer */
#define PEND_RECHECK 0x1       /* connection or election changed */
#define PEND_CHANGED 0x2       /* the state znode changed */
#define PEND_EXPIRED 0x4       /* the session is gone: start a new one */
#define PEND_SERVERS 0x8       /* the server registry changed */

struct zk_store {
	zhandle_t *zh;
	char hosts[256];
	char root[256];
	char election[300];
	char state[300];
	char servers[300];
	struct String_vector registry; /* children of ROOT/servers, sorted */
	char id[128];
	char node[400]; /* our election node, or empty */
	int session_ms;
	int efd;
	pthread_mutex_t lock;
	unsigned pending; /* PEND_*, under lock */
	int connected;	  /* under lock */
	int leader;
	char leader_id[128];
	int state_version; /* of ROOT/state when we last read or wrote it; -1: none */
	char *buf;
};

static void wake(struct zk_store *z, unsigned what)
{
	uint64_t one = 1;

	pthread_mutex_lock(&z->lock);
	z->pending |= what;
	pthread_mutex_unlock(&z->lock);
	(void)!write(z->efd, &one, sizeof(one));
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk_store *z = ctx;

	(void)zh;
	if (type == ZOO_SESSION_EVENT) {
		pthread_mutex_lock(&z->lock);
		z->connected = state == ZOO_CONNECTED_STATE;
		pthread_mutex_unlock(&z->lock);
		wake(z, state == ZOO_EXPIRED_SESSION_STATE ? PEND_EXPIRED : PEND_RECHECK);
		return;
	}
	if (path != NULL && strcmp(path, z->state) == 0)
		wake(z, PEND_CHANGED);
	else if (path != NULL && strcmp(path, z->servers) == 0)
		wake(z, PEND_SERVERS);
	else
		wake(z, PEND_RECHECK);
}

static int connect_zk(struct zk_store *z, char *err, size_t errlen)
{
	z->zh = zookeeper_init(z->hosts, watcher, z->session_ms, NULL, z, 0);
	if (z->zh == NULL) {
		/* a long host list is cut: the message is for humans */
		if (snprintf(err, errlen, "--zk: cannot start a session with %s: %s", z->hosts,
			     strerror(errno)) >= (int)errlen && errlen > 0)
			err[errlen - 1] = '\0';
		return -1;
	}
	return 0;
}

/* Create @p path (and no parents) if missing. */
static int ensure(struct zk_store *z, const char *path)
{
	int rc = zoo_create(z->zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);

	return rc == ZOK || rc == ZNODEEXISTS ? ZOK : rc;
}

static int ensure_tree(struct zk_store *z)
{
	char path[300];
	int rc = ZOK;

	for (char *p = z->root + 1; rc == ZOK; p++) {
		p = strchr(p, '/');
		if (p == NULL)
			break;
		snprintf(path, sizeof(path), "%.*s", (int)(p - z->root), z->root);
		rc = ensure(z, path);
	}
	if (rc == ZOK)
		rc = ensure(z, z->root);
	if (rc == ZOK)
		rc = ensure(z, z->election);
	if (rc == ZOK)
		rc = ensure(z, z->state);
	if (rc == ZOK)
		rc = ensure(z, z->servers);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Make sure we have an election node, then see whether we lead; if not, watch
 * our predecessor. Returns a ZooKeeper code.
 */
static int elect(struct zk_store *z)
{
	struct String_vector kids = {0};
	const char *mine;
	char path[450], pred[450];
	int rc, me = -1, len;

	if (z->node[0] == '\0') {
		char prefix[320];

		rc = ensure_tree(z);
		if (rc != ZOK)
			return rc;
		snprintf(prefix, sizeof(prefix), "%s/n_", z->election);
		rc = zoo_create(z->zh, prefix, z->id, (int)strlen(z->id), &ZOO_OPEN_ACL_UNSAFE,
				ZOO_EPHEMERAL | ZOO_SEQUENCE, z->node, sizeof(z->node));
		if (rc != ZOK) {
			z->node[0] = '\0';
			return rc;
		}
	}
	mine = strrchr(z->node, '/') + 1;
	for (;;) {
		rc = zoo_get_children(z->zh, z->election, 0, &kids);
		if (rc != ZOK)
			return rc;
		qsort(kids.data, (size_t)kids.count, sizeof(char *), cmp_str);
		for (int i = 0; i < kids.count; i++)
			if (strcmp(kids.data[i], mine) == 0)
				me = i;
		if (me < 0) { /* our node is gone (session trouble): start over */
			deallocate_String_vector(&kids);
			z->node[0] = '\0';
			z->leader = 0;
			return ZNONODE;
		}
		snprintf(path, sizeof(path), "%s/%s", z->election, kids.data[0]);
		len = (int)sizeof(z->leader_id) - 1;
		if (zoo_get(z->zh, path, 0, z->leader_id, &len, NULL) != ZOK || len < 0)
			len = 0;
		z->leader_id[len] = '\0';
		if (me == 0) {
			deallocate_String_vector(&kids);
			z->leader = 1;
			return ZOK;
		}
		snprintf(pred, sizeof(pred), "%s/%s", z->election, kids.data[me - 1]);
		deallocate_String_vector(&kids);
		z->leader = 0;
		rc = zoo_wexists(z->zh, pred, watcher, z, NULL);
		if (rc == ZOK)
			return ZOK; /* the watch fires when the predecessor goes */
		if (rc != ZNONODE)
			return rc;
		me = -1; /* gone meanwhile: look again */
	}
}

/* Re-read ROOT/servers and re-arm its watch. */
static int read_registry(struct zk_store *z)
{
	struct String_vector kids = {0};
	int rc = zoo_wget_children(z->zh, z->servers, watcher, z, &kids);

	if (rc != ZOK)
		return rc;
	qsort(kids.data, (size_t)kids.count, sizeof(char *), cmp_str);
	deallocate_String_vector(&z->registry);
	z->registry = kids;
	return ZOK;
}

static int zk_registered(struct store *st, const char *addr)
{
	struct zk_store *z = st->priv;

	return bsearch(&addr, z->registry.data, (size_t)z->registry.count, sizeof(char *),
		       cmp_str) != NULL;
}

static int zk_load(struct store *st, char **doc, char *err, size_t errlen)
{
	struct zk_store *z = st->priv;
	struct Stat stat;
	int len = ZK_DATA_MAX, rc;

	*doc = NULL;
	rc = zoo_wget(z->zh, z->state, watcher, z, z->buf, &len, &stat);
	if (rc == ZNONODE) {
		z->state_version = -1;
		return 0;
	}
	if (rc != ZOK) {
		snprintf(err, errlen, "ZooKeeper get %s: %s", z->state, zerror(rc));
		return -EIO;
	}
	z->state_version = stat.version;
	if (len <= 0)
		return 0;
	*doc = malloc((size_t)len + 1);
	if (*doc == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(*doc, z->buf, (size_t)len);
	(*doc)[len] = '\0';
	return 0;
}

static int zk_save(struct store *st, const char *doc, char *err, size_t errlen)
{
	struct zk_store *z = st->priv;
	struct Stat stat;
	size_t len = strlen(doc);
	int rc;

	if (!z->leader) {
		snprintf(err, errlen, "not the leader");
		return -EPERM;
	}
	if (len >= ZK_DATA_MAX) {
		snprintf(err, errlen, "state document of %zu bytes is too big for ZooKeeper", len);
		return -EFBIG;
	}
	rc = zoo_set2(z->zh, z->state, doc, (int)len, z->state_version, &stat);
	if (rc == ZBADVERSION) {
		wake(z, PEND_CHANGED | PEND_RECHECK);
		snprintf(err, errlen, "the state changed under us (another leader?); retry");
		return -EAGAIN;
	}
	if (rc != ZOK) {
		snprintf(err, errlen, "ZooKeeper set %s: %s", z->state, zerror(rc));
		return -EIO;
	}
	z->state_version = stat.version;
	return 0;
}

static int zk_fd(struct store *st)
{
	return ((struct zk_store *)st->priv)->efd;
}

static unsigned zk_process(struct store *st)
{
	struct zk_store *z = st->priv;
	unsigned pend, ev = 0;
	uint64_t cnt;
	int was = z->leader, connected, rc;

	(void)!read(z->efd, &cnt, sizeof(cnt));
	pthread_mutex_lock(&z->lock);
	pend = z->pending;
	z->pending = 0;
	connected = z->connected;
	pthread_mutex_unlock(&z->lock);
	if (pend == 0)
		return 0;
	if (pend & PEND_EXPIRED) {
		char err[256];

		ctld_log("store: ZooKeeper session expired; starting a new one");
		zookeeper_close(z->zh);
		z->zh = NULL;
		z->node[0] = '\0';
		z->leader = 0;
		z->leader_id[0] = '\0';
		if (connect_zk(z, err, sizeof(err)) < 0)
			ctld_log("store: %s", err);
		return was ? STORE_EV_ROLE : 0;
	}
	if (!connected) {
		/* Disconnected (not expired): we cannot know whether we still lead. */
		z->leader = 0;
		z->leader_id[0] = '\0';
		return was ? STORE_EV_ROLE : 0;
	}
	if (pend & PEND_RECHECK) {
		rc = elect(z);
		if (rc != ZOK && rc != ZNONODE)
			ctld_log("store: ZooKeeper election: %s", zerror(rc));
		if (rc != ZOK)
			wake(z, PEND_RECHECK); /* try again on the next turn */
		ev |= STORE_EV_CHANGED;	       /* reload: we may have missed changes */
	}
	if (pend & PEND_CHANGED)
		ev |= STORE_EV_CHANGED;
	if (pend & (PEND_SERVERS | PEND_RECHECK)) {
		rc = read_registry(z);
		if (rc != ZOK)
			ctld_log("store: ZooKeeper registry %s: %s", z->servers, zerror(rc));
		ev |= STORE_EV_SERVERS;
	}
	if (z->leader != was)
		ev |= STORE_EV_ROLE;
	return ev;
}

static int zk_is_leader(struct store *st)
{
	return ((struct zk_store *)st->priv)->leader;
}

static void zk_describe(struct store *st, char *buf, size_t len)
{
	struct zk_store *z = st->priv;

	snprintf(buf, len, "%s %s (ZooKeeper %s%s, leader: %s)", z->leader ? "leader" : "follower",
		 z->id, z->hosts, z->root, z->leader_id[0] ? z->leader_id : "unknown");
}

static void zk_close(struct store *st)
{
	struct zk_store *z = st->priv;

	if (z == NULL)
		return;
	if (z->zh != NULL)
		zookeeper_close(z->zh); /* removes our ephemeral node at once */
	close(z->efd);
	deallocate_String_vector(&z->registry);
	pthread_mutex_destroy(&z->lock);
	free(z->buf);
	free(z);
	st->priv = NULL;
}

static const struct store_ops zk_ops = {
	.name = "zookeeper",
	.load = zk_load,
	.save = zk_save,
	.fd = zk_fd,
	.process = zk_process,
	.is_leader = zk_is_leader,
	.registered = zk_registered,
	.describe = zk_describe,
	.close = zk_close,
};

int store_zk_open(struct store *st, const char *hosts, const char *root, const char *id,
		  int session_ms, char *err, size_t errlen)
{
	struct zk_store *z = calloc(1, sizeof(*z));
	int connected = 0, rc;

	if (z == NULL || (z->buf = malloc(ZK_DATA_MAX)) == NULL) {
		free(z);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (root[0] != '/' || (strlen(root) > 1 && root[strlen(root) - 1] == '/') ||
	    snprintf(z->root, sizeof(z->root), "%s", root) >= (int)sizeof(z->root) ||
	    snprintf(z->hosts, sizeof(z->hosts), "%s", hosts) >= (int)sizeof(z->hosts) ||
	    snprintf(z->id, sizeof(z->id), "%s", id) >= (int)sizeof(z->id)) {
		free(z->buf);
		free(z);
		snprintf(err, errlen, "--zk-root must be an absolute znode path such as /dpcache");
		return -EINVAL;
	}
	snprintf(z->election, sizeof(z->election), "%s/election", z->root);
	snprintf(z->state, sizeof(z->state), "%s/state", z->root);
	snprintf(z->servers, sizeof(z->servers), "%s/servers", z->root);
	z->session_ms = session_ms;
	z->state_version = -1;
	pthread_mutex_init(&z->lock, NULL);
	z->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* The library logs every failed reconnect; ctld logs what matters itself. */
	zoo_set_debug_level((ZooLogLevel)0);
	st->ops = &zk_ops;
	st->priv = z;
	if (z->efd < 0 || connect_zk(z, err, errlen) < 0) {
		zk_close(st);
		return -EIO;
	}
	/* Wait (bounded) for the session, then run the first election. */
	for (int waited = 0; waited < session_ms && !connected; waited += 50) {
		struct pollfd pfd = {.fd = z->efd, .events = POLLIN};

		poll(&pfd, 1, 50);
		pthread_mutex_lock(&z->lock);
		connected = z->connected;
		pthread_mutex_unlock(&z->lock);
	}
	if (!connected) {
		snprintf(err, errlen, "--zk: no ZooKeeper answered at %s within %d ms", hosts,
			 session_ms);
		zk_close(st);
		return -ETIMEDOUT;
	}
	rc = elect(z);
	if (rc == ZOK)
		rc = read_registry(z);
	if (rc != ZOK) {
		snprintf(err, errlen, "--zk: election or registry under %s: %s", z->root,
			 zerror(rc));
		zk_close(st);
		return -EIO;
	}
	return 0;
}
