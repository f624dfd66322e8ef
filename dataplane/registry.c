#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADED /* libzookeeper-mt: the synchronous API */
#include <zookeeper/zookeeper.h>

#define REGISTRY_SESSION_MS 10000
#define REGISTRY_RETRY_POLLS 20 /* about 2 s between connection attempts */

struct registry {
	zhandle_t *zh;
	char hosts[256];
	char path[512];
	char data[256];
	int registered;
	int last_rc; /* the last failure logged, so a lasting one is logged once */
	unsigned int idle_polls; /* polls since the last failed connect */
};

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	(void)zh;
	(void)type;
	(void)state;
	(void)path;
	(void)ctx; /* registry_poll looks at the session state itself */
}

static void registry_connect(struct registry *r)
{
	r->zh = zookeeper_init(r->hosts, watcher, REGISTRY_SESSION_MS, NULL, r, 0);
	r->registered = 0;
}

struct registry *registry_start(const char *hosts, const char *root, const char *name,
				const char *data, char *err, size_t errlen)
{
	struct registry *r;

	if (root[0] != '/' || strlen(root) < 2 || root[strlen(root) - 1] == '/') {
		snprintf(err, errlen, "--zk-root: '%s' is not a path such as /dpcache", root);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL ||
	    snprintf(r->hosts, sizeof(r->hosts), "%s", hosts) >= (int)sizeof(r->hosts) ||
	    snprintf(r->path, sizeof(r->path), "%s/servers/%s", root, name) >= (int)sizeof(r->path) ||
	    snprintf(r->data, sizeof(r->data), "%s", data) >= (int)sizeof(r->data)) {
		snprintf(err, errlen, "--zk: arguments too long");
		free(r);
		return NULL;
	}
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	/* The hosts may not resolve yet (no address configured): poll retries. */
	registry_connect(r);
	return r;
}

/* Create every parent of the node (persistent), then the node (ephemeral). */
static int create_node(struct registry *r)
{
	char parent[sizeof(r->path)];
	int rc;

	for (char *slash = strchr(r->path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		memcpy(parent, r->path, (size_t)(slash - r->path));
		parent[slash - r->path] = '\0';
		rc = zoo_create(r->zh, parent, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
		if (rc != ZOK && rc != ZNODEEXISTS)
			return rc;
	}
	rc = zoo_create(r->zh, r->path, r->data, (int)strlen(r->data), &ZOO_OPEN_ACL_UNSAFE,
			ZOO_EPHEMERAL, NULL, 0);
	if (rc == ZNODEEXISTS) {
		/* Our own node from a session that has not expired yet: replace it. */
		zoo_delete(r->zh, r->path, -1);
		rc = zoo_create(r->zh, r->path, r->data, (int)strlen(r->data),
				&ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
	}
	return rc;
}

void registry_poll(struct registry *r)
{
	int state;

	if (r == NULL)
		return;
	if (r->zh == NULL) {
		if (++r->idle_polls >= REGISTRY_RETRY_POLLS) {
			r->idle_polls = 0;
			registry_connect(r);
		}
		return;
	}
	state = zoo_state(r->zh);
	if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
		fprintf(stderr, "dpcached: zk: session lost, reconnecting\n");
		zookeeper_close(r->zh);
		registry_connect(r);
		return;
	}
	if (state != ZOO_CONNECTED_STATE) {
		r->registered = 0;
		return;
	}
	if (!r->registered) {
		int rc = create_node(r);

		if (rc == ZOK) {
			r->registered = 1;
			r->last_rc = ZOK;
			printf("dpcached: zk: registered %s\n", r->path);
			fflush(stdout);
		} else if (rc != r->last_rc) {
			r->last_rc = rc;
			fprintf(stderr, "dpcached: zk: cannot create %s: %s\n", r->path, zerror(rc));
		}
	}
}

void registry_stop(struct registry *r)
{
	if (r == NULL)
		return;
	if (r->zh != NULL)
		zookeeper_close(r->zh);
	free(r);
}
