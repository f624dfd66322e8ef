/**
 * @file
 * Client side of dpcached's admin socket, for dpcachectl and dpcache-ctld.
 */
#ifndef DPCACHE_ADMIN_CLIENT_H
#define DPCACHE_ADMIN_CLIENT_H

#include <stddef.h>
#include <stdio.h>

/** Default path of dpcached's admin socket. */
#define DP_ADMIN_DEFAULT_SOCKET "/run/dpcached.sock"

/**
 * Connect to the admin socket at @p path.
 * @param timeout_ms  bound on every later read and write of this connection
 * @return a connected fd, or -1 with one line in @p err
 */
int dp_admin_connect(const char *path, int timeout_ms, char *err, size_t errlen);

/**
 * Send one command line and copy the reply's lines (without CR) to @p out,
 * up to and including its last line (END, OK, VERSION ..., or an error).
 * @return 0 for a good reply, 1 for an ERROR / CLIENT_ERROR / SERVER_ERROR
 *         reply, -1 for a transport failure (message in @p err)
 */
int dp_admin_command(int fd, const char *command, FILE *out, char *err, size_t errlen);

#endif
