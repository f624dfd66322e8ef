#include "dpcache/admin_client.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_LINE_MAX 4096

int dp_admin_connect(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int is_prefix(const char *line, const char *p)
{
	return strncmp(line, p, strlen(p)) == 0;
}

/* 0: more lines follow; 1: last line of a good reply; 2: last line, an error. */
static int classify(const char *line)
{
	if (strcmp(line, "END") == 0 || strcmp(line, "OK") == 0 || is_prefix(line, "VERSION "))
		return 1;
	if (strcmp(line, "ERROR") == 0 || is_prefix(line, "CLIENT_ERROR") ||
	    is_prefix(line, "SERVER_ERROR"))
		return 2;
	return 0;
}

int dp_admin_command(int fd, const char *command, FILE *out, char *err, size_t errlen)
{
	char line[REPLY_LINE_MAX];
	size_t len = 0;
	size_t cmdlen = strlen(command);

	if (send(fd, command, cmdlen, MSG_NOSIGNAL) != (ssize_t)cmdlen ||
	    send(fd, "\r\n", 2, MSG_NOSIGNAL) != 2) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		char c;
		ssize_t n = recv(fd, &c, 1, 0);
		int kind;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s", n == 0 ? "server closed the connection"
							   : strerror(errno));
			return -1;
		}
		if (c != '\n') {
			if (len + 1 >= sizeof(line)) {
				snprintf(err, errlen, "reply line longer than %d bytes",
					 REPLY_LINE_MAX);
				return -1;
			}
			line[len++] = c;
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		len = 0;
		fprintf(out, "%s\n", line);
		kind = classify(line);
		if (kind != 0)
			return kind == 1 ? 0 : 1;
	}
}
