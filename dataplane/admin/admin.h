/*
 * The admin socket: a Unix stream socket (mode 0660, never on the network)
 * served by the main lcore. Line-based, memcached-style: `stats` answers
 * `STAT name value` lines and `END`, `version` answers `VERSION x.y.z`,
 * `shutdown` answers `OK` and stops the server, `quit` closes the connection.
 * `memcache` answers `OK` and turns the connection into a memcached text
 * protocol session against the cache (the admin path for loading items
 * without the network), until the client closes it or sends `quit`.
 */
#ifndef DPCACHE_ADMIN_H
#define DPCACHE_ADMIN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/un.h>

#define ADMIN_MAX_CLIENTS 16
#define ADMIN_LINE_MAX 1024

struct admin_commands {
	void (*stats)(FILE *out, void *ctx);
	void (*shutdown)(void *ctx);
	/*
	 * The memcache session (all three NULL: `memcache` is an unknown
	 * command). open() returns the session or NULL; input() runs bytes and
	 * writes replies to out, returning non-zero to close the connection.
	 */
	void *(*mc_open)(void *ctx);
	int (*mc_input)(void *ctx, void *session, const char *buf, size_t len, FILE *out);
	void (*mc_close)(void *ctx, void *session);
	void *ctx;
};

struct admin;

struct admin_client {
	struct admin *owner;
	int fd; /* -1: free slot */
	int discarding; /* skipping the rest of an over-long line */
	void *mc;	/* non-NULL: a memcache session owns the connection's bytes */
	size_t len;
	char line[ADMIN_LINE_MAX];
};

struct admin {
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct admin_commands cmds;
	struct admin_client clients[ADMIN_MAX_CLIENTS];
};

/* Bind and listen on `path`. Negative errno and one line in err on failure. */
int admin_setup(struct admin *a, const char *path, const struct admin_commands *cmds, char *err,
		size_t errlen);

/* Wait up to timeout_ms for admin traffic and serve it. */
void admin_poll(struct admin *a, int timeout_ms);

/* Close every connection and remove the socket file. */
void admin_teardown(struct admin *a);

#endif
