/*
 * Runs the CUnit registry and reports every test as one TAP line, so that
 * `meson test` (protocol: tap) and scripts/test.sh count individual tests,
 * not test programs.
 */
#ifndef DPCACHE_TESTS_CUNIT_TAP_H
#define DPCACHE_TESTS_CUNIT_TAP_H

#include <CUnit/CUnit.h>

/* One entry of a suite table: a test's name and function. */
struct cunit_test {
	const char *name;
	CU_TestFunc fn;
};

/*
 * Register suite `name` with the tests of `tests` (terminated by a NULL
 * name). Returns 0, or -1 if CUnit refused (then the run fails).
 */
int cunit_tap_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
			const struct cunit_test *tests);

/* Run everything registered; returns the process exit code (0 = all passed). */
int cunit_tap_run(void);

#endif
