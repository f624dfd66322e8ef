/*
 * Helpers for the protocol suites: run bytes through a parser and describe
 * every event as one line of text, so a golden case is just
 * (input, expected transcript). A value that arrives in pieces is put back
 * together, so the transcript of a split feed must equal the whole one.
 */
#ifndef DPCACHE_TESTS_PROTO_UTIL_H
#define DPCACHE_TESTS_PROTO_UTIL_H

#include <stddef.h>

#include "dpcache/proto.h"

/* Feed `in` in chunks cut at the given offsets; returns a malloc'd transcript. */
char *proto_transcript(const struct proto_config *cfg, const char *in, size_t len,
		       const size_t *cuts, size_t ncuts);

/*
 * Check `in` against `expected` fed whole, cut at every byte boundary, and
 * one byte at a time. Returns 0, or the first cut that differed + 1 (and
 * prints both transcripts).
 */
int proto_check_splits(const struct proto_config *cfg, const char *in, size_t len,
		       const char *expected);

#endif
