/*
 * The local state file: the embedded default store.
 *
 * The file is replaced, never edited: write PATH.tmp, fsync it, rename it over
 * PATH, fsync the directory so the rename itself is durable. rename(2) is
 * atomic, so a kill -9 (or a power cut, thanks to the fsyncs) at any point
 * leaves PATH with the old or the new document, whole; a stale PATH.tmp is
 * just overwritten by the next save.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_FILE_MAX (16 << 20) /* refuse to load anything bigger */

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int state_file_write(const char *path, const char *doc, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return rc;
	}
	rc = write_all(fd, doc, strlen(doc));
	if (rc == 0)
		rc = write_all(fd, "\n", 1);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir_of(path);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

int state_file_read(const char *path, char **doc, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	int fd, rc = 0;

	*doc = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (sb.st_size > STATE_FILE_MAX) {
		close(fd);
		snprintf(err, errlen, "%s: bigger than %d bytes", path, STATE_FILE_MAX);
		return -EFBIG;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*doc = buf;
	return 0;
}

struct file_store {
	char path[PATH_MAX];
	int lock_fd;
};

static int file_load(struct store *st, char **doc, char *err, size_t errlen)
{
	struct file_store *fs = st->priv;

	return state_file_read(fs->path, doc, err, errlen);
}

static int file_save(struct store *st, const char *doc, char *err, size_t errlen)
{
	struct file_store *fs = st->priv;

	return state_file_write(fs->path, doc, err, errlen);
}

static int file_fd(struct store *st)
{
	(void)st;
	return -1;
}

static unsigned file_process(struct store *st)
{
	(void)st;
	return 0;
}

static int file_is_leader(struct store *st)
{
	(void)st;
	return 1;
}

static int file_registered(struct store *st, const char *addr)
{
	(void)st;
	(void)addr;
	return -1;
}

static void file_describe(struct store *st, char *buf, size_t len)
{
	struct file_store *fs = st->priv;

	snprintf(buf, len, "leader (state file %s)", fs->path);
}

static void file_close(struct store *st)
{
	struct file_store *fs = st->priv;

	if (fs == NULL)
		return;
	close(fs->lock_fd);
	free(fs);
	st->priv = NULL;
}

static const struct store_ops file_ops = {
	.name = "file",
	.load = file_load,
	.save = file_save,
	.fd = file_fd,
	.process = file_process,
	.is_leader = file_is_leader,
	.registered = file_registered,
	.describe = file_describe,
	.close = file_close,
};

int store_file_open(struct store *st, const char *path, char *err, size_t errlen)
{
	struct file_store *fs = calloc(1, sizeof(*fs));
	char lock[PATH_MAX];

	if (fs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (snprintf(fs->path, sizeof(fs->path), "%s", path) >= (int)sizeof(fs->path) ||
	    snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
		free(fs);
		snprintf(err, errlen, "--state-file: path too long");
		return -ENAMETOOLONG;
	}
	fs->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fs->lock_fd < 0) {
		snprintf(err, errlen, "--state-file: %s: %s", lock, strerror(errno));
		free(fs);
		return -EIO;
	}
	if (flock(fs->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "--state-file: %s is in use by another dpcache-ctld", path);
		close(fs->lock_fd);
		free(fs);
		return -EBUSY;
	}
	st->ops = &file_ops;
	st->priv = fs;
	return 0;
}
