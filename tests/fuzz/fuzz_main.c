/*
 * A main() for the fuzz targets without libFuzzer: runs each file named on
 * the command line (or stdin) through LLVMFuzzerTestOneInput once. Used to
 * replay a crash under gdb, to run the seed corpus in CI, and as the harness
 * for AFL++ (afl-clang-fast ... fuzz_main.c: AFL feeds the input on stdin).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(FILE *f)
{
	size_t cap = 1 << 16, len = 0, n;
	uint8_t *buf = malloc(cap);

	if (buf == NULL)
		return 1;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *bigger = realloc(buf, cap * 2);

			if (bigger == NULL)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		return run_file(stdin);
	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");

		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		run_file(f);
		fclose(f);
	}
	return 0;
}
