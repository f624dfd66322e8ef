/*
 * The state store: where the control plane keeps its state document (the
 * routing config with its version) so that it survives restarts and, with
 * ZooKeeper, moves between ctld instances. One interface, two backends.
 *
 * Only the leader saves. A save is all or nothing: the file backend writes a
 * temporary file, fsyncs it and renames it over the old one; the ZooKeeper
 * backend sets one znode conditionally on the version it last read, so a
 * deposed leader that has not noticed yet cannot overwrite its successor.
 */
#ifndef DPCACHE_CTLD_STORE_H
#define DPCACHE_CTLD_STORE_H

#include <stddef.h>

/* Events that store_process() reports. */
#define STORE_EV_CHANGED 0x1 /* the stored document changed: load it again */
#define STORE_EV_ROLE	 0x2 /* leadership changed: ask store_is_leader() */
#define STORE_EV_SERVERS 0x4 /* the server registry changed: ask registered() */

struct store;

struct store_ops {
	const char *name;
	/* *doc: the malloc'd document, or NULL if none was ever saved. */
	int (*load)(struct store *st, char **doc, char *err, size_t errlen);
	int (*save)(struct store *st, const char *doc, char *err, size_t errlen);
	int (*fd)(struct store *st);	       /* to poll for events, or -1 */
	unsigned (*process)(struct store *st); /* STORE_EV_* since the last call */
	int (*is_leader)(struct store *st);
	/*
	 * Is server @p addr registered (a live ephemeral node)? 1 or 0; -1 if
	 * this store keeps no registry. A hint only: probes decide TKO.
	 */
	int (*registered)(struct store *st, const char *addr);
	/* One line about this instance's role and the leader, for `status`. */
	void (*describe)(struct store *st, char *buf, size_t len);
	void (*close)(struct store *st);
};

struct store {
	const struct store_ops *ops;
	void *priv;
};

/* The local file backend: this ctld is always the leader; an flock on
 * PATH.lock keeps a second ctld off the same file. */
int store_file_open(struct store *st, const char *path, char *err, size_t errlen);

/* ZooKeeper: @p hosts "h:p,h:p", @p root the parent znode, @p id this
 * instance's name (stored in its election node). */
int store_zk_open(struct store *st, const char *hosts, const char *root, const char *id,
		  int session_ms, char *err, size_t errlen);

/*
 * Crash-safe file I/O, shared by the file backend and the published config.
 * state_file_write: write @p doc and a newline to PATH.tmp, fsync, rename to
 * PATH, fsync the directory. At every instant PATH holds either the old or
 * the new document, whole.
 */
int state_file_write(const char *path, const char *doc, char *err, size_t errlen);
/* state_file_read: *doc NULL (and 0) if PATH does not exist. */
int state_file_read(const char *path, char **doc, char *err, size_t errlen);

#endif
