/* Shared between the protocol's .c files; not part of the public API. */
#ifndef DPCACHE_PROTO_INTERNAL_H
#define DPCACHE_PROTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/proto.h"

/* memcached's tokenizer keeps at most this many tokens (MAX_TOKENS). */
#define PROTO_MAX_TOKENS 24
/* Meta commands refuse more tokens than this (MFLAG_MAX_OPT_LENGTH). */
#define PROTO_META_MAX_TOKENS 20

/* A token of a request line. The terminal token has len 0. */
struct proto_tok {
	const char *p;
	uint32_t len;
};

/*
 * What a parsed line asks of the stream: a value of `value_len` bytes to hand
 * to the executor, or `swallow` bytes to drop after an error.
 */
struct proto_line_result {
	enum proto_event ev;
	bool has_value;
	uint32_t value_len;
	uint64_t swallow;
};

size_t proto_tokenize(const char *s, size_t len, struct proto_tok *t, size_t max);

/* memcached's safe_strtoul / safe_strtol / safe_strtoull, quirks included. */
bool proto_strtoul(struct proto_tok t, uint32_t *out);
bool proto_strtol(struct proto_tok t, int32_t *out);
bool proto_strtoull(struct proto_tok t, uint64_t *out);

void proto_meta_line(struct proto_parser *p, struct proto_tok *t, size_t ntok,
		     struct proto_request *req, struct proto_line_result *lr);

#endif
