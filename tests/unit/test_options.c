/* dpcached's option table: parsing, defaults and one-line errors naming the flag. */
#include <arpa/inet.h>
#include <string.h>

#include "cunit_tap.h"
#include "options.h"

static struct dp_options opts;
static char err[256];

static enum dp_options_result parse(int argc, const char **argv)
{
	err[0] = '\0';
	return dp_options_parse(&opts, argc, (char **)argv, err, sizeof(err));
}

static void test_defaults(void)
{
	const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24"};

	CU_ASSERT_EQUAL(parse(3, argv), DP_OPTIONS_OK);
	CU_ASSERT_STRING_EQUAL(opts.admin_socket, "/run/dpcached.sock");
	CU_ASSERT_EQUAL(opts.port, 0);
	CU_ASSERT_EQUAL(opts.idle_sleep, 0);
	CU_ASSERT_FALSE(opts.mac.set);
	CU_ASSERT_EQUAL(opts.ip.addr, inet_addr("198.18.0.2"));
	CU_ASSERT_EQUAL(opts.ip.netmask, htonl(0xffffff00));
	CU_ASSERT_EQUAL(opts.ip.len, 24);
}

static void test_all_set(void)
{
	const char *argv[] = {"dpcached",	  "--ip",	    "198.19.1.1/32", "--mac",
			      "02:00:00:00:00:09", "--admin-socket", "/tmp/x.sock",   "--port",
			      "3",		  "--idle-sleep",   "50"};

	CU_ASSERT_EQUAL(parse(11, argv), DP_OPTIONS_OK);
	CU_ASSERT_EQUAL(opts.ip.netmask, 0xffffffff);
	CU_ASSERT(opts.mac.set);
	CU_ASSERT_EQUAL(opts.mac.addr.addr_bytes[5], 9);
	CU_ASSERT_STRING_EQUAL(opts.admin_socket, "/tmp/x.sock");
	CU_ASSERT_EQUAL(opts.port, 3);
	CU_ASSERT_EQUAL(opts.idle_sleep, 50);
}

static void test_bad_ip(void)
{
	const char *bad[] = {"300.1.1.1/24", "198.18.0.2", "198.18.0.2/33", "198.18.0.2/0",
			     "198.18.0.2/-1", "x/24", "198.18.0.2/24x", "/24", ""};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"dpcached", "--ip", bad[i]};

		CU_ASSERT_EQUAL(parse(3, argv), DP_OPTIONS_ERROR);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--ip"));
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	}
}

static void test_bad_mac(void)
{
	const char *bad[] = {"01:00:5e:00:00:01", "00:00:00:00:00:00", "02:00:00:00:00",
			     "zz:00:00:00:00:01", "02-00-00-00-00-01x"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "--mac", bad[i]};

		CU_ASSERT_EQUAL(parse(5, argv), DP_OPTIONS_ERROR);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--mac"));
	}
}

static void test_bad_uint(void)
{
	const char *bad[] = {"-1", "1024", "x", "", "1 ", "99999999999999999999"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "--port", bad[i]};

		CU_ASSERT_EQUAL(parse(5, argv), DP_OPTIONS_ERROR);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--port"));
	}
}

static void test_unknown_option(void)
{
	const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "--bogus", "1"};

	CU_ASSERT_EQUAL(parse(5, argv), DP_OPTIONS_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--bogus"));
}

static void test_missing_value(void)
{
	const char *argv[] = {"dpcached", "--ip"};

	CU_ASSERT_EQUAL(parse(2, argv), DP_OPTIONS_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--ip"));
}

static void test_ip_required(void)
{
	const char *argv[] = {"dpcached"};

	CU_ASSERT_EQUAL(parse(1, argv), DP_OPTIONS_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--ip is required"));
}

static void test_stray_argument(void)
{
	const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "extra"};

	CU_ASSERT_EQUAL(parse(4, argv), DP_OPTIONS_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "extra"));
}

static void test_socket_path_too_long(void)
{
	char path[200];
	const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "--admin-socket", path};

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	CU_ASSERT_EQUAL(parse(5, argv), DP_OPTIONS_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--admin-socket"));
}

static void test_udp_options(void)
{
	const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "-U", "11300",
			      "--udp-allow", "198.18.0.7/24,10.1.0.0/16"};

	CU_ASSERT_EQUAL_FATAL(parse(7, argv), DP_OPTIONS_OK);
	CU_ASSERT_EQUAL(opts.udp_port, 11300);
	CU_ASSERT_EQUAL_FATAL(opts.udp_allow.n, 2);
	CU_ASSERT_EQUAL(opts.udp_allow.e[0].addr, inet_addr("198.18.0.0")); /* host bits cleared */
	CU_ASSERT_EQUAL(opts.udp_allow.e[1].netmask, htonl(0xffff0000));
}

static void test_udp_defaults(void)
{
	const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24"};

	CU_ASSERT_EQUAL_FATAL(parse(3, argv), DP_OPTIONS_OK);
	CU_ASSERT_EQUAL(opts.udp_port, 11211);
	CU_ASSERT_EQUAL(opts.udp_allow.n, 0); /* main fills in the --ip subnet */
}

static void test_bad_udp_allow(void)
{
	const char *bad[] = {"", ",", "198.18.0.0/15,", ",198.18.0.0/15", "198.18.0.0",
			     "198.18.0.0/15,,10.0.0.0/8", "1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,"
			     "1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,"
			     "1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8,1.2.3.4/8"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "--udp-allow", bad[i]};

		CU_ASSERT_EQUAL(parse(5, argv), DP_OPTIONS_ERROR);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--udp-allow"));
	}
	{
		const char *argv[] = {"dpcached", "--ip", "198.18.0.2/24", "-U", "65536"};

		CU_ASSERT_EQUAL(parse(5, argv), DP_OPTIONS_ERROR);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--udp-port"));
	}
}

static const struct cunit_test tests[] = {
	{"udp options", test_udp_options},
	{"udp defaults", test_udp_defaults},
	{"bad udp options", test_bad_udp_allow},
	{"defaults", test_defaults},
	{"every option set", test_all_set},
	{"bad --ip values", test_bad_ip},
	{"bad --mac values", test_bad_mac},
	{"bad integer values", test_bad_uint},
	{"unknown option", test_unknown_option},
	{"missing value", test_missing_value},
	{"--ip required", test_ip_required},
	{"stray argument", test_stray_argument},
	{"socket path too long", test_socket_path_too_long},
	{NULL, NULL},
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (cunit_tap_add_suite("options", NULL, NULL, tests) < 0)
		return 1;
	return cunit_tap_run();
}
