/* The admin socket server and its client library, talking over a real socket. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin/admin.h"
#include "cunit_tap.h"
#include "dpcache/admin_client.h"

static char path[64];
static struct admin server;
static int stop_server;
static int shutdowns;
static pthread_t thread;

static void fake_stats(FILE *out, void *ctx)
{
	fprintf(out, "STAT answer %d\r\n", *(int *)ctx);
}

static void count_shutdown(void *ctx)
{
	(void)ctx;
	__atomic_add_fetch(&shutdowns, 1, __ATOMIC_RELAXED);
}

static void *serve(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_server, __ATOMIC_RELAXED))
		admin_poll(&server, 20);
	return NULL;
}

static int answer = 42;
static int sessions_open;

/* A fake memcache session: answers every input with its bytes, upper-cased. */
static void *fake_mc_open(void *ctx)
{
	(void)ctx;
	__atomic_add_fetch(&sessions_open, 1, __ATOMIC_RELAXED);
	return &sessions_open;
}

static int fake_mc_input(void *ctx, void *session, const char *buf, size_t len, FILE *out)
{
	(void)ctx;
	CU_ASSERT_PTR_EQUAL(session, &sessions_open);
	for (size_t i = 0; i < len; i++)
		fputc(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i], out);
	return len >= 4 && memcmp(buf + len - 4, "bye\n", 4) == 0;
}

static void fake_mc_close(void *ctx, void *session)
{
	(void)ctx;
	(void)session;
	__atomic_sub_fetch(&sessions_open, 1, __ATOMIC_RELAXED);
}

static int start(void)
{
	struct admin_commands cmds = {fake_stats,    count_shutdown, fake_mc_open,
				      fake_mc_input, fake_mc_close,  &answer};
	char err[256];

	snprintf(path, sizeof(path), "/tmp/dpcache-test-admin-%d.sock", getpid());
	if (admin_setup(&server, path, &cmds, err, sizeof(err)) < 0)
		return -1;
	stop_server = 0;
	return pthread_create(&thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static int stop(void)
{
	__atomic_store_n(&stop_server, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	admin_teardown(&server);
	return 0;
}

/* Run one command; the reply's text lands in `reply`. */
static int command(const char *cmd, char *reply, size_t len)
{
	char err[256];
	FILE *out = fmemopen(reply, len, "w");
	int fd = dp_admin_connect(path, 2000, err, sizeof(err));
	int rc;

	if (fd < 0) {
		fclose(out);
		return -1;
	}
	rc = dp_admin_command(fd, cmd, out, err, sizeof(err));
	fclose(out);
	close(fd);
	return rc;
}

static void test_stats(void)
{
	char reply[256];

	CU_ASSERT_EQUAL(command("stats", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "STAT answer 42\nEND\n");
}

static void test_version(void)
{
	char reply[256];

	CU_ASSERT_EQUAL(command("version", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "VERSION " DPCACHE_VERSION "\n");
}

static void test_unknown_command(void)
{
	char reply[256];

	CU_ASSERT_EQUAL(command("flush_everything", reply, sizeof(reply)), 1);
	CU_ASSERT_STRING_EQUAL(reply, "ERROR\n");
}

static void test_shutdown(void)
{
	char reply[256];
	int before = __atomic_load_n(&shutdowns, __ATOMIC_RELAXED);

	CU_ASSERT_EQUAL(command("shutdown", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "OK\n");
	CU_ASSERT_EQUAL(__atomic_load_n(&shutdowns, __ATOMIC_RELAXED), before + 1);
}

static void test_pipelined_commands(void)
{
	char err[256], reply[256];
	int fd = dp_admin_connect(path, 2000, err, sizeof(err));
	char buf[512];
	size_t got = 0;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send(fd, "version\nstats\r\n", 15, 0), 15);
	while (got < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (n <= 0)
			break;
		got += n;
		buf[got] = '\0';
		if (strstr(buf, "END\r\n") != NULL)
			break;
	}
	snprintf(reply, sizeof(reply), "VERSION %s\r\nSTAT answer 42\r\nEND\r\n", DPCACHE_VERSION);
	CU_ASSERT_STRING_EQUAL(buf, reply);
	close(fd);
}

static void test_line_too_long(void)
{
	char err[256], reply[256];
	char *big = malloc(ADMIN_LINE_MAX + 10);
	FILE *out = fmemopen(reply, sizeof(reply), "w");
	int fd = dp_admin_connect(path, 2000, err, sizeof(err));

	CU_ASSERT_FATAL(fd >= 0 && big != NULL);
	memset(big, 'x', ADMIN_LINE_MAX + 9);
	big[ADMIN_LINE_MAX + 9] = '\0';
	CU_ASSERT_EQUAL(dp_admin_command(fd, big, out, err, sizeof(err)), 1);
	fclose(out);
	CU_ASSERT_STRING_EQUAL(reply, "CLIENT_ERROR line too long\n");
	/* The connection survives and serves the next line. */
	out = fmemopen(reply, sizeof(reply), "w");
	CU_ASSERT_EQUAL(dp_admin_command(fd, "version", out, err, sizeof(err)), 0);
	fclose(out);
	CU_ASSERT_STRING_EQUAL(reply, "VERSION " DPCACHE_VERSION "\n");
	close(fd);
	free(big);
}

static void test_socket_mode(void)
{
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);
}

static void test_live_socket_not_taken_over(void)
{
	struct admin other;
	struct admin_commands cmds = {fake_stats, count_shutdown, NULL, NULL, NULL, &answer};
	char err[256];

	CU_ASSERT(admin_setup(&other, path, &cmds, err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use"));
}

static void test_stale_socket_replaced(void)
{
	char stale[64], err[256];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct admin a;
	struct admin_commands cmds = {fake_stats, count_shutdown, NULL, NULL, NULL, &answer};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(stale, sizeof(stale), "/tmp/dpcache-test-stale-%d.sock", getpid());
	strcpy(sa.sun_path, stale);
	unlink(stale);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* bound, never listened: what a crashed server leaves */
	CU_ASSERT_EQUAL(admin_setup(&a, stale, &cmds, err, sizeof(err)), 0);
	admin_teardown(&a);
	CU_ASSERT_NOT_EQUAL(access(stale, F_OK), 0);
}

static void test_regular_file_refused(void)
{
	char file[64], err[256];
	struct admin a;
	struct admin_commands cmds = {fake_stats, count_shutdown, NULL, NULL, NULL, &answer};
	FILE *f;

	snprintf(file, sizeof(file), "/tmp/dpcache-test-file-%d", getpid());
	f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT(admin_setup(&a, file, &cmds, err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a socket"));
	CU_ASSERT_EQUAL(access(file, F_OK), 0);
	unlink(file);
}

static void test_connect_missing(void)
{
	char err[256];

	CU_ASSERT_EQUAL(dp_admin_connect("/tmp/dpcache-no-such.sock", 100, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot connect"));
}

/* Read from fd until `want` bytes came or the peer closed; returns the count. */
static size_t read_some(int fd, char *buf, size_t cap, size_t want)
{
	size_t got = 0;

	while (got < want && got < cap - 1) {
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);

		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	return got;
}

static void test_memcache_session(void)
{
	char err[256], buf[256];
	int fd = dp_admin_connect(path, 2000, err, sizeof(err));

	CU_ASSERT_FATAL(fd >= 0);
	/* Bytes pipelined behind `memcache` belong to the session already. */
	static const char first[] = "memcache\r\nget k\r\n";

	CU_ASSERT_EQUAL(send(fd, first, sizeof(first) - 1, 0), (ssize_t)sizeof(first) - 1);
	read_some(fd, buf, sizeof(buf), 11);
	CU_ASSERT_STRING_EQUAL(buf, "OK\r\nGET K\r\n");
	CU_ASSERT_EQUAL(__atomic_load_n(&sessions_open, __ATOMIC_RELAXED), 1);
	/* `stats` is now the session's, not the admin socket's. */
	CU_ASSERT_EQUAL(send(fd, "stats\n", 6, 0), 6);
	read_some(fd, buf, sizeof(buf), 6);
	CU_ASSERT_STRING_EQUAL(buf, "STATS\n");
	/* The session asks to close: the connection closes and the session ends. */
	CU_ASSERT_EQUAL(send(fd, "bye\n", 4, 0), 4);
	read_some(fd, buf, sizeof(buf), 100);
	CU_ASSERT_STRING_EQUAL(buf, "BYE\n");
	close(fd);
	CU_ASSERT_EQUAL(__atomic_load_n(&sessions_open, __ATOMIC_RELAXED), 0);
}

static void test_memcache_session_closed_by_client(void)
{
	char err[256], buf[64];
	int fd = dp_admin_connect(path, 2000, err, sizeof(err));

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send(fd, "memcache\n", 9, 0), 9);
	read_some(fd, buf, sizeof(buf), 4);
	CU_ASSERT_EQUAL(__atomic_load_n(&sessions_open, __ATOMIC_RELAXED), 1);
	close(fd);
	for (int i = 0; i < 100 && __atomic_load_n(&sessions_open, __ATOMIC_RELAXED) != 0; i++)
		usleep(10000);
	CU_ASSERT_EQUAL(__atomic_load_n(&sessions_open, __ATOMIC_RELAXED), 0);
}

static const struct cunit_test tests[] = {
	{"memcache session", test_memcache_session},
	{"memcache session closed by the client", test_memcache_session_closed_by_client},
	{"stats", test_stats},
	{"version", test_version},
	{"unknown command", test_unknown_command},
	{"shutdown", test_shutdown},
	{"pipelined commands", test_pipelined_commands},
	{"line too long", test_line_too_long},
	{"socket mode 0660", test_socket_mode},
	{"live socket not taken over", test_live_socket_not_taken_over},
	{"stale socket replaced", test_stale_socket_replaced},
	{"regular file refused", test_regular_file_refused},
	{"connect to missing socket", test_connect_missing},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("admin", start, stop, tests) < 0)
		return 1;
	return cunit_tap_run();
}
