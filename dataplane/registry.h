/*
 * Server registration in ZooKeeper (--zk): dpcached keeps an ephemeral node
 * ROOT/servers/IP:PORT while it runs, so dpcache-ctld learns at once when a
 * server appears or vanishes (the probes still decide its health). Driven from
 * the main lcore's admin loop; never touches the data path.
 */
#ifndef DPCACHE_REGISTRY_H
#define DPCACHE_REGISTRY_H

#include <stddef.h>

struct registry;

/*
 * Start connecting to `hosts` ("h1:2181,h2:2181") and register `name`
 * (e.g. "198.18.0.2:11211") under `root`/servers with `data`. Returns NULL
 * with one line in err on a bad argument; connection problems are retried.
 */
struct registry *registry_start(const char *hosts, const char *root, const char *name,
				const char *data, char *err, size_t errlen);

/* Called about every 100 ms: (re)creates the node after a (re)connect. */
void registry_poll(struct registry *r);

/* Close the session: the ephemeral node goes at once. */
void registry_stop(struct registry *r);

#endif
