#include "cunit_tap.h"

#include <CUnit/TestRun.h>
#include <stdio.h>

static unsigned int tap_index;
static unsigned int tap_failed;

static void on_test_complete(const CU_pTest test, const CU_pSuite suite,
			     const CU_pFailureRecord failure)
{
	tap_index++;
	if (failure == NULL) {
		printf("ok %u - %s: %s\n", tap_index, suite->pName, test->pName);
		return;
	}
	tap_failed++;
	printf("not ok %u - %s: %s\n", tap_index, suite->pName, test->pName);
	for (const CU_FailureRecord *f = failure; f != NULL; f = f->pNext)
		printf("# %s:%u: %s\n", f->strFileName ? f->strFileName : "?", f->uiLineNumber,
		       f->strCondition ? f->strCondition : "");
	fflush(stdout);
}

static void on_suite_init_failure(const CU_pSuite suite)
{
	/* Every test of the suite is reported as failed, so the plan still adds up. */
	for (CU_pTest t = suite->pTest; t != NULL; t = t->pNext) {
		tap_index++;
		tap_failed++;
		printf("not ok %u - %s: %s # suite setup failed\n", tap_index, suite->pName,
		       t->pName);
	}
}

int cunit_tap_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
			const struct cunit_test *tests)
{
	CU_pSuite suite = CU_add_suite(name, init, cleanup);

	if (suite == NULL)
		return -1;
	for (const struct cunit_test *t = tests; t->name != NULL; t++)
		if (CU_add_test(suite, t->name, t->fn) == NULL)
			return -1;
	return 0;
}

int cunit_tap_run(void)
{
	CU_pTestRegistry reg = CU_get_registry();
	int rc;

	if (reg == NULL || CU_get_error() != CUE_SUCCESS) {
		printf("1..0 # CUnit registry error: %s\n", CU_get_error_msg());
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%u\n", reg->uiNumberOfTests);
	CU_set_test_complete_handler(on_test_complete);
	CU_set_suite_init_failure_handler(on_suite_init_failure);
	CU_run_all_tests();
	rc = (tap_failed > 0 || CU_get_error() != CUE_SUCCESS) ? 1 : 0;
	CU_cleanup_registry();
	return rc;
}
