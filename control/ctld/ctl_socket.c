/*
 * The control socket: a Unix stream socket, mode 0660, never on the network.
 * Requests are lines (at most CTL_LINE_MAX bytes with the newline); each gets
 * one reply line of JSON. A longer line is answered with an error and the
 * connection is closed: a client that sends one is confused or hostile. (We
 * shut our side down first and discard what the client still sends, so the
 * error is read rather than lost to a reset.)
 * Replies are queued per client and flushed when the socket is writable, so
 * a slow `config watch` reader never stalls the daemon.
 */
#include "ctld.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define OUT_MAX	    (64 << 20) /* a watcher this far behind is dropped */
#define DISCARD_MAX (1 << 20)  /* what a refused client may still send */

int ctl_socket_open(struct ctld *d, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = d->opt.ctl_socket;
	struct stat sb;
	mode_t old;
	int fd;

	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		d->clients[i].fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--ctl-socket: path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "--ctl-socket: %s exists and is not a socket", path);
			return -1;
		}
		/* A live ctld answers; a stale socket file is replaced. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			snprintf(err, errlen, "--ctl-socket: %s is in use by a running ctld", path);
			return -1;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--ctl-socket: socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117); /* the socket is born 0660 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		snprintf(err, errlen, "--ctl-socket: %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sa.sun_path, 0660) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "--ctl-socket: %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	d->listen_fd = fd;
	return 0;
}

static void client_close(struct ctl_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

void ctl_socket_close(struct ctld *d)
{
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (d->clients[i].fd >= 0)
			client_close(&d->clients[i]);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->opt.ctl_socket);
		d->listen_fd = -1;
	}
}

void ctl_client_send(struct ctl_client *cl, const char *data, size_t len)
{
	if (cl->fd < 0 || cl->closing > 1)
		return;
	if (cl->out_len + len > OUT_MAX) {
		cl->closing = 2; /* too far behind: drop it */
		return;
	}
	if (cl->out_len + len > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *p;

		while (cap < cl->out_len + len)
			cap *= 2;
		p = realloc(cl->out, cap);
		if (p == NULL) {
			cl->closing = 2;
			return;
		}
		cl->out = p;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, data, len);
	cl->out_len += len;
}

size_t ctl_socket_pollfds(struct ctld *d, struct pollfd *fds, size_t max)
{
	size_t k = 0;

	if (max == 0)
		return 0;
	fds[k++] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
	for (int i = 0; i < CTL_CLIENTS_MAX && k < max; i++) {
		struct ctl_client *cl = &d->clients[i];

		if (cl->fd < 0)
			continue;
		fds[k].fd = cl->fd;
		if (cl->draining)
			fds[k].events = POLLIN;
		else if (cl->closing)
			fds[k].events = POLLOUT;
		else
			fds[k].events = (short)(POLLIN | (cl->out_len ? POLLOUT : 0));
		fds[k].revents = 0;
		k++;
	}
	return k;
}

static void accept_client(struct ctld *d)
{
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (d->clients[i].fd < 0) {
			d->clients[i].fd = fd;
			return;
		}
	d->n.clients_refused++;
	(void)!write(fd, "{\"ok\":false,\"error\":\"too many clients\"}\n", 40);
	close(fd);
}

static void flush(struct ctl_client *cl)
{
	while (cl->out_len > 0) {
		ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			client_close(cl);
			return;
		}
		memmove(cl->out, cl->out + n, cl->out_len - (size_t)n);
		cl->out_len -= (size_t)n;
	}
	if (cl->closing && !cl->draining) {
		shutdown(cl->fd, SHUT_WR);
		cl->draining = 1;
	}
}

/* After a refusal: swallow input until the client closes (or sends too much). */
static void drain(struct ctl_client *cl)
{
	char buf[4096];
	ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	cl->in_len += n > 0 ? (size_t)n : 0;
	if (n <= 0 || cl->in_len > DISCARD_MAX)
		client_close(cl);
}

static void read_lines(struct ctld *d, struct ctl_client *cl)
{
	char buf[4096];
	ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(cl);
		return;
	}
	for (ssize_t i = 0; i < n && cl->fd >= 0 && !cl->closing; i++) {
		if (buf[i] != '\n') {
			if (cl->in_len + 1 >= CTL_LINE_MAX) {
				static const char msg[] =
				    "{\"ok\":false,\"error\":\"line longer than 4096 bytes\"}\n";

				d->n.command_errors++;
				ctl_client_send(cl, msg, sizeof(msg) - 1);
				cl->closing = 1;
				break;
			}
			cl->in[cl->in_len++] = buf[i];
			continue;
		}
		if (cl->in_len > 0 && cl->in[cl->in_len - 1] == '\r')
			cl->in_len--;
		cl->in[cl->in_len] = '\0';
		cl->in_len = 0;
		ctld_command(d, cl, cl->in);
	}
}

void ctl_socket_input(struct ctld *d, int fd, short revents)
{
	if (fd == d->listen_fd) {
		if (revents & POLLIN)
			accept_client(d);
		return;
	}
	for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
		struct ctl_client *cl = &d->clients[i];

		if (cl->fd != fd)
			continue;
		if (cl->closing > 1) {
			client_close(cl);
			return;
		}
		if (cl->draining) {
			if (revents & (POLLIN | POLLHUP | POLLERR))
				drain(cl);
			return;
		}
		if (revents & POLLIN)
			read_lines(d, cl);
		if (cl->fd >= 0 && (revents & (POLLHUP | POLLERR)) && !(revents & POLLIN)) {
			client_close(cl);
			return;
		}
		if (cl->fd >= 0 && (cl->out_len > 0 || cl->closing))
			flush(cl);
		return;
	}
}
