#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char reply_too_long[] = "CLIENT_ERROR line too long\r\n";
static const char reply_busy[] = "SERVER_ERROR too many admin connections\r\n";
static const char reply_error[] = "ERROR\r\n";
static const char reply_ok[] = "OK\r\n";

/*
 * A socket file left by a crashed server is replaced; one that still accepts
 * connections belongs to a live server and is never taken over.
 */
static int claim_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--admin-socket: %s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "--admin-socket: %s is in use by a running server", path);
		return -EADDRINUSE;
	}
	return unlink(path) < 0 ? -errno : 0;
}

int admin_setup(struct admin *a, const char *path, const struct admin_commands *cmds, char *err,
		size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old_mask;
	int rc;

	memset(a, 0, sizeof(*a));
	a->listen_fd = -1;
	for (int i = 0; i < ADMIN_MAX_CLIENTS; i++) {
		a->clients[i].fd = -1;
		a->clients[i].owner = a;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--admin-socket: path longer than %zu bytes",
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	rc = claim_path(path, err, errlen);
	if (rc < 0) {
		if (rc != -EEXIST && rc != -EADDRINUSE)
			snprintf(err, errlen, "--admin-socket: %s: %s", path, strerror(-rc));
		return rc;
	}
	a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->listen_fd < 0)
		goto fail;
	strcpy(sa.sun_path, path);
	/* Created 0660 from the start: no window in which others may connect. */
	old_mask = umask(0117);
	rc = bind(a->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc < 0 || listen(a->listen_fd, ADMIN_MAX_CLIENTS) < 0)
		goto fail;
	strcpy(a->path, path);
	a->cmds = *cmds;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "--admin-socket: %s: %s", path, strerror(errno));
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
	return rc;
}

static void client_close(struct admin_client *c)
{
	if (c->mc != NULL)
		c->owner->cmds.mc_close(c->owner->cmds.ctx, c->mc);
	c->mc = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->discarding = 0;
}

/* Replies are small; a client that does not read them loses its connection. */
static int client_send(struct admin_client *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			client_close(c);
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static void admin_accept(struct admin *a)
{
	int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = {.tv_sec = 1};

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < ADMIN_MAX_CLIENTS; i++) {
		if (a->clients[i].fd < 0) {
			a->clients[i].fd = fd;
			a->clients[i].len = 0;
			a->clients[i].discarding = 0;
			return;
		}
	}
	(void)!write(fd, reply_busy, sizeof(reply_busy) - 1);
	close(fd);
}

/* Execute one command line; returns -1 if the connection was closed. */
static int admin_execute(struct admin *a, struct admin_client *c, const char *line)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int rc;

	if (strcmp(line, "quit") == 0) {
		client_close(c);
		return -1;
	}
	if (strcmp(line, "shutdown") == 0) {
		a->cmds.shutdown(a->cmds.ctx); /* OK means the stop has begun */
		return client_send(c, reply_ok, sizeof(reply_ok) - 1);
	}
	if (strcmp(line, "memcache") == 0 && a->cmds.mc_open != NULL) {
		c->mc = a->cmds.mc_open(a->cmds.ctx);
		if (c->mc == NULL)
			return client_send(c, "SERVER_ERROR out of memory\r\n", 28);
		return client_send(c, reply_ok, sizeof(reply_ok) - 1);
	}
	if (strcmp(line, "version") == 0) {
		static const char v[] = "VERSION " DPCACHE_VERSION "\r\n";

		return client_send(c, v, sizeof(v) - 1);
	}
	if (strcmp(line, "stats") != 0)
		return client_send(c, reply_error, sizeof(reply_error) - 1);

	out = open_memstream(&buf, &len);
	if (out == NULL)
		return client_send(c, "SERVER_ERROR out of memory\r\n", 28);
	a->cmds.stats(out, a->cmds.ctx);
	fputs("END\r\n", out);
	fclose(out);
	rc = client_send(c, buf, len);
	free(buf);
	return rc;
}

/* Hand the buffered bytes to the memcache session and send its replies. */
static void mc_feed(struct admin_client *c)
{
	const struct admin_commands *cmds = &c->owner->cmds;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int close_after;

	if (out == NULL) {
		client_close(c);
		return;
	}
	close_after = cmds->mc_input(cmds->ctx, c->mc, c->line, c->len, out);
	fclose(out);
	c->len = 0;
	if (client_send(c, buf, len) == 0 && close_after)
		client_close(c);
	free(buf);
}

/*
 * An over-long line gets one error, and its remaining bytes are skipped up to
 * the next newline: closing with unread input would reset the connection and
 * could destroy the error reply before the client reads it.
 */
static void admin_read(struct admin *a, struct admin_client *c)
{
	ssize_t n = recv(c->fd, c->line + c->len, sizeof(c->line) - c->len, MSG_DONTWAIT);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += n;
	if (c->mc != NULL) {
		mc_feed(c);
		return;
	}
	while (c->fd >= 0 && (nl = memchr(c->line, '\n', c->len)) != NULL) {
		size_t consumed = nl - c->line + 1;

		*nl = '\0';
		if (nl > c->line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (c->discarding)
			c->discarding = 0;
		else if (admin_execute(a, c, c->line) < 0)
			return;
		memmove(c->line, c->line + consumed, c->len - consumed);
		c->len -= consumed;
		if (c->mc != NULL) { /* what follows `memcache` is the session's */
			if (c->len > 0)
				mc_feed(c);
			return;
		}
	}
	if (c->fd >= 0 && c->len == sizeof(c->line)) {
		if (!c->discarding && client_send(c, reply_too_long, sizeof(reply_too_long) - 1) < 0)
			return;
		c->discarding = 1;
		c->len = 0;
	}
}

void admin_poll(struct admin *a, int timeout_ms)
{
	struct pollfd pfd[ADMIN_MAX_CLIENTS + 1];
	int idx[ADMIN_MAX_CLIENTS + 1];
	int n = 0;

	pfd[n] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
	idx[n++] = -1;
	for (int i = 0; i < ADMIN_MAX_CLIENTS; i++) {
		if (a->clients[i].fd < 0)
			continue;
		pfd[n] = (struct pollfd){.fd = a->clients[i].fd, .events = POLLIN};
		idx[n++] = i;
	}
	if (poll(pfd, n, timeout_ms) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (idx[i] < 0)
			admin_accept(a);
		else
			admin_read(a, &a->clients[idx[i]]);
	}
}

void admin_teardown(struct admin *a)
{
	for (int i = 0; i < ADMIN_MAX_CLIENTS; i++)
		client_close(&a->clients[i]);
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		a->listen_fd = -1;
		unlink(a->path);
	}
}
