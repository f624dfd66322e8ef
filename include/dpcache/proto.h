/*
 * memcached's text and meta protocols: a streaming, zero-copy parser and a
 * composer that writes replies into caller buffers.
 *
 * Both are pure: no I/O, no storage, no allocation. The parser turns bytes
 * into `struct proto_request` events; the executor (the one place where
 * protocol and store meet) runs them and calls the composer with what the
 * store answered. Errors and limits match memcached 1.6 byte for byte; see
 * docs/PROTOCOL.md for what is supported and the few deviations.
 */
#ifndef DPCACHE_PROTO_H
#define DPCACHE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/** Longest key memcached accepts (KEY_MAX_LENGTH). */
#define PROTO_KEY_MAX 250
/** A line without '\n' longer than this closes the connection (unless get/gets). */
#define PROTO_LINE_MAX 2048
/** memcached's default item size limit (-I). */
#define PROTO_ITEM_SIZE_MAX_DEFAULT (1024 * 1024)
/** Longest meta opaque token, counting its leading 'O'. */
#define PROTO_OPAQUE_MAX 32
/** Most flags a meta request can carry (memcached's token limit). */
#define PROTO_META_FLAGS_MAX 24
/** Recommended size of the per-connection line buffer (see proto_parser_init). */
#define PROTO_LINE_BUF_DEFAULT 8192

/** A byte span. For requests it points into the caller's input or the parser's buffers. */
struct proto_span {
	const char *p;
	uint32_t len;
};

/** Commands. The order is part of no ABI; use the names. */
enum proto_cmd {
	PROTO_CMD_NONE = 0,
	PROTO_CMD_GET,
	PROTO_CMD_GETS,
	PROTO_CMD_GAT,
	PROTO_CMD_GATS,
	PROTO_CMD_SET,
	PROTO_CMD_ADD,
	PROTO_CMD_REPLACE,
	PROTO_CMD_APPEND,
	PROTO_CMD_PREPEND,
	PROTO_CMD_CAS,
	PROTO_CMD_DELETE,
	PROTO_CMD_INCR,
	PROTO_CMD_DECR,
	PROTO_CMD_TOUCH,
	PROTO_CMD_FLUSH_ALL,
	PROTO_CMD_VERSION,
	PROTO_CMD_VERBOSITY,
	PROTO_CMD_QUIT,
	PROTO_CMD_STATS,
	PROTO_CMD_SHUTDOWN,
	PROTO_CMD_MG,
	PROTO_CMD_MS,
	PROTO_CMD_MD,
	PROTO_CMD_MA,
	PROTO_CMD_MN,
	PROTO_CMD_ME,
	PROTO_CMD__COUNT
};

/** Bit of a command in proto_config.udp_allow. */
#define PROTO_CMD_BIT(c) (UINT64_C(1) << (c))
/** memcached-over-UDP as dpcache allows it by default: reads only. */
#define PROTO_UDP_ALLOW_DEFAULT                                         \
	(PROTO_CMD_BIT(PROTO_CMD_GET) | PROTO_CMD_BIT(PROTO_CMD_GETS) | \
	 PROTO_CMD_BIT(PROTO_CMD_MG) | PROTO_CMD_BIT(PROTO_CMD_MN))

/** Why a request failed; each has one reply string (proto_error_string). */
enum proto_error {
	PROTO_ERR_NONE = 0,
	PROTO_ERR_UNKNOWN_COMMAND, /* ERROR */
	PROTO_ERR_BAD_FORMAT,	   /* CLIENT_ERROR bad command line format */
	PROTO_ERR_BAD_DATA_CHUNK,  /* CLIENT_ERROR bad data chunk */
	PROTO_ERR_TOO_LARGE,	   /* SERVER_ERROR object too large for cache */
	PROTO_ERR_OUT_OF_MEMORY,   /* SERVER_ERROR out of memory storing object */
	PROTO_ERR_BAD_EXPTIME,	   /* CLIENT_ERROR invalid exptime argument */
	PROTO_ERR_BAD_DELTA,	   /* CLIENT_ERROR invalid numeric delta argument */
	PROTO_ERR_DELETE_USAGE,	   /* CLIENT_ERROR bad command line format.  Usage: ... */
	PROTO_ERR_NON_NUMERIC,	 /* CLIENT_ERROR cannot increment or decrement non-numeric value */
	PROTO_ERR_META_DUP_FLAG, /* CLIENT_ERROR duplicate flag */
	PROTO_ERR_META_INVALID_FLAG,	/* CLIENT_ERROR invalid flag */
	PROTO_ERR_META_INVALID_OR_DUP,	/* CLIENT_ERROR invalid or duplicate flag (md, ma) */
	PROTO_ERR_META_BAD_TOKEN,	/* CLIENT_ERROR bad token in command line format */
	PROTO_ERR_META_KEY_DECODE,	/* CLIENT_ERROR error decoding key */
	PROTO_ERR_META_TOO_MANY_FLAGS,	/* CLIENT_ERROR options flags are too long (mg) */
	PROTO_ERR_META_TOO_MANY_FLAGS2, /* CLIENT_ERROR options flags too long (ms, md, ma) */
	PROTO_ERR_META_OPAQUE_TOO_LONG, /* CLIENT_ERROR opaque token too long */
	PROTO_ERR_META_BAD_M_LENGTH,	/* CLIENT_ERROR incorrect length for M token */
	PROTO_ERR_META_BAD_MS_MODE,	/* CLIENT_ERROR invalid mode for ms M token */
	PROTO_ERR_META_BAD_MA_MODE,	/* CLIENT_ERROR invalid mode for ma M token */
	PROTO_ERR_META_BAD_INITIAL,	/* CLIENT_ERROR invalid numeric initial value */
	PROTO_ERR_META_BAD_DELTA,	/* CLIENT_ERROR invalid numeric delta value */
	PROTO_ERR_UDP_DENIED,		/* CLIENT_ERROR command not allowed over UDP (dpcache) */
	PROTO_ERR__COUNT
};

/** Meta flags carried by a meta request (mg, ms, md, ma, me). */
struct proto_meta {
	uint64_t seen;			  /* PROTO_META_HAS(m, 'v') tests a flag */
	char order[PROTO_META_FLAGS_MAX]; /* flag letters in request order (replies follow it) */
	uint8_t norder;
	uint8_t opaque_len; /* O token, with its 'O' */
	char opaque[PROTO_OPAQUE_MAX];
	char mode;	       /* M token's character, 0 if none */
	bool key_binary;       /* b: key was base64 and has been decoded */
	int32_t ttl;	       /* T */
	int32_t vivify_ttl;    /* N */
	int32_t recache_ttl;   /* R */
	uint32_t client_flags; /* F */
	uint64_t cas;	       /* C */
	uint64_t delta;	       /* D (ma; 1 if absent) */
	uint64_t initial;      /* J (ma) */
};

#define PROTO_META_BIT(c)    (UINT64_C(1) << (((unsigned)(c) - 'A') & 63))
#define PROTO_META_HAS(m, c) (((m)->seen & PROTO_META_BIT(c)) != 0)

/**
 * One parsed request (or error). Spans point into the input passed to
 * proto_parse or into the parser; they stay valid until the next
 * proto_parse call or until the caller reuses that input, whichever is first.
 */
struct proto_request {
	enum proto_cmd cmd;
	enum proto_error error; /* set on PROTO_EV_ERROR */
	bool noreply;		/* text: noreply; meta: q. For errors: suppress the error line. */
	struct proto_span key;	/* the key (meta b: decoded); for get*: the first key */
	struct proto_span keys; /* get/gets/gat/gats: the key list; walk with proto_key_next */
	uint32_t nkeys;
	uint32_t client_flags;	/* set/add/... */
	int32_t exptime;	/* set..., touch, gat/gats, flush_all (0 if absent) */
	uint64_t cas;		/* cas */
	uint64_t delta;		/* incr/decr */
	uint32_t verbosity;	/* verbosity */
	bool has_delay;		/* flush_all: an exptime was given */
	struct proto_span args; /* stats/shutdown: the arguments after the command (may be empty) */
	uint32_t nargs;
	uint32_t value_len;	 /* storage: total bytes of the data block */
	struct proto_span value; /* storage: the value bytes in this event's input */
	bool value_partial;	 /* more value bytes follow as PROTO_EV_VALUE events */
	struct proto_meta meta;	 /* mg/ms/md/ma/mn/me only: not written for other commands */
};

/** What proto_parse found. */
enum proto_event {
	PROTO_EV_NEED_MORE = 0, /* the input is used up; call again with more */
	PROTO_EV_REQUEST,	/* a request; with a value: all of it, unless value_partial */
	PROTO_EV_VALUE,		/* the next bytes of a partial value, in req->value */
	PROTO_EV_VALUE_END,	/* the partial value ended with "\r\n": run the request */
	PROTO_EV_ERROR,		/* reply proto_error_string(req->error) unless req->noreply */
	PROTO_EV_CLOSE,		/* close the connection (memcached closes it too) */
};

struct proto_config {
	uint32_t item_size_max; /* -I; 0 = PROTO_ITEM_SIZE_MAX_DEFAULT */
	bool udp;		/* requests come in UDP datagrams: apply udp_allow */
	uint64_t udp_allow;	/* PROTO_CMD_BIT()s allowed over UDP (0 = default set) */
};

enum proto_parser_state {
	PROTO_PS_LINE = 0,
	PROTO_PS_VALUE,
	PROTO_PS_VALUE_CRLF,
	PROTO_PS_SWALLOW,
	PROTO_PS_CLOSED,
};

/** Per-connection parser state. Fields are private. */
struct proto_parser {
	struct proto_config cfg;
	enum proto_parser_state state;
	char *line; /* partial line being reassembled across inputs */
	uint32_t line_cap;
	uint32_t line_len;
	uint32_t value_left;   /* PS_VALUE: value bytes still to hand out */
	uint64_t swallow_left; /* PS_SWALLOW: bytes still to drop */
	uint8_t crlf_have;     /* PS_VALUE_CRLF: terminator bytes seen */
	bool crlf_bad;
	bool value_noreply; /* noreply for a bad data chunk */
	enum proto_cmd value_cmd;
	char keybuf[PROTO_KEY_MAX + 4]; /* a base64-decoded key */
};

/**
 * Set up a parser. `line_buf` (at least PROTO_LINE_MAX + 2 bytes; the caller
 * owns it) holds a request line that arrives split across inputs; lines that
 * arrive whole are never copied. A split multiget line longer than the
 * buffer closes the connection.
 */
void proto_parser_init(struct proto_parser *p, const struct proto_config *cfg, char *line_buf,
		       uint32_t line_cap);

/** Forget any partial request (e.g. between UDP datagrams). */
void proto_parser_reset(struct proto_parser *p);

/**
 * Parse from `buf`: stores the event in *req and the number of bytes used in
 * *consumed. Call again with the rest of the input until PROTO_EV_NEED_MORE;
 * then all of the input has been consumed (partial lines are kept inside).
 */
enum proto_event proto_parse(struct proto_parser *p, const char *buf, size_t len, size_t *consumed,
			     struct proto_request *req);

/**
 * The executor could not take the value announced by a partial
 * PROTO_EV_REQUEST (e.g. out of memory): drop the rest of it silently, as
 * memcached swallows it.
 */
void proto_parser_discard_value(struct proto_parser *p);

/**
 * Walk the keys of get/gets/gat/gats: `*pos` starts at 0. Returns false after
 * the last key.
 */
bool proto_key_next(const struct proto_request *req, uint32_t *pos, struct proto_span *key);

/** The reply line for an error, without "\r\n". */
const char *proto_error_string(enum proto_error err);

/** The command's name as clients spell it ("get", "mg", ...). */
const char *proto_cmd_name(enum proto_cmd cmd);

/** Whether a storage-size check like memcached's says the item is too large. */
bool proto_item_too_large(uint32_t item_size_max, size_t nkey, uint32_t client_flags,
			  uint64_t value_len);

/* ---- composing replies ---- */

/**
 * Reply under construction: small header bytes are copied into `buf`,
 * values are referenced by iovecs (never copied). Writing stops at the first
 * overflow and `error` stays -ENOSPC; check it once at the end.
 */
struct proto_out {
	char *buf;
	size_t cap;
	size_t used;
	struct iovec *iov;
	unsigned iov_cap;
	unsigned iov_cnt;
	size_t total; /* bytes of reply so far */
	int error;
	/* Segmented output (proto_out_init_segmented); NULL for one buffer. */
	const struct proto_out_segments *segs;
	unsigned seg; /* number of the current segment (1, 2, ...; 0: none yet) */
	/**
	 * Soft limit: a request that can stop between items (a multiget) stops
	 * once `total` reaches it (proto_out_paused); 0 = none. The transport
	 * sets it to what it can take now and may lower it from next().
	 */
	size_t limit;
};

/**
 * A reply written straight into a chain of buffers the transport owns (e.g.
 * packet buffers), so values are copied once. Header bytes and values spill
 * from one segment into the next; nothing is referenced, iovecs are unused.
 */
struct proto_out_segments {
	/**
	 * Segment o->seg is full (o->used bytes; 0 when there is none yet):
	 * set o->buf and o->cap (> 0) to the next one, numbered o->seg + 1 (the
	 * composer increments o->seg after). Returns 0 or a negative errno,
	 * which fails the reply (sticky in o->error).
	 */
	int (*next)(struct proto_out *o);
	/**
	 * A rewind: drop the segments after number `seg` and make that one
	 * current again (o->buf, o->cap); the composer restores o->used.
	 */
	void (*back)(struct proto_out *o, unsigned seg);
	void *ctx;
};

void proto_out_init(struct proto_out *o, char *buf, size_t cap, struct iovec *iov,
		    unsigned iov_cap);
/** A reply in segments (see struct proto_out_segments); the first comes at the first byte. */
void proto_out_init_segmented(struct proto_out *o, const struct proto_out_segments *segs);
/** True once a soft limit is set and reached: stop at the next item boundary. */
static inline bool proto_out_paused(const struct proto_out *o)
{
	return o->limit != 0 && o->total >= o->limit;
}
/** Copy bytes into the reply. */
int proto_out_copy(struct proto_out *o, const void *p, size_t n);
/** Reference bytes (they must outlive the reply); a segmented reply copies them. */
int proto_out_ref(struct proto_out *o, const void *p, size_t n);
/** Copy the whole reply into `dst` (tests, UDP); its length, -ENOSPC or -ENOTSUP (segmented). */
long proto_out_flatten(const struct proto_out *o, void *dst, size_t cap);

/**
 * Reserve `n` bytes of the buffer for the caller to fill (e.g. a store that
 * copies a value straight into the reply: the one copy); NULL if no room.
 * A segmented reply reserves within one segment (NULL if `n` exceeds one).
 */
void *proto_out_reserve(struct proto_out *o, size_t n);

/** A point to go back to (e.g. when an optimistic read retries). */
struct proto_out_mark {
	size_t used, total;
	unsigned iov_cnt;
	size_t last_len;
	unsigned seg;
};
void proto_out_mark(const struct proto_out *o, struct proto_out_mark *m);
/** Forget everything written after `m` (and a sticky error). */
void proto_out_rewind(struct proto_out *o, const struct proto_out_mark *m);

/** Text replies that are one fixed line. */
enum proto_reply {
	PROTO_R_STORED,
	PROTO_R_NOT_STORED,
	PROTO_R_EXISTS,
	PROTO_R_NOT_FOUND,
	PROTO_R_DELETED,
	PROTO_R_TOUCHED,
	PROTO_R_OK,
	PROTO_R_RESET,
	PROTO_R_END,
	PROTO_R_MN,
	PROTO_R_EN,
	PROTO_R__COUNT
};

/** One fixed line; nothing for a text request with noreply (pass req NULL to force). */
int proto_compose_reply(struct proto_out *o, const struct proto_request *req, enum proto_reply r);
/** The error line of req->error, unless req->noreply. */
int proto_compose_error(struct proto_out *o, const struct proto_request *req);
/** An error line for `err`, always. */
int proto_compose_error_code(struct proto_out *o, enum proto_error err);
/** "VALUE <key> <flags> <bytes>[ <cas>]\r\n" + value (referenced) + "\r\n". */
int proto_compose_value(struct proto_out *o, struct proto_span key, uint32_t client_flags,
			const void *value, uint32_t value_len, bool with_cas, uint64_t cas);
/** Only the VALUE line (with its "\r\n"); the caller adds value + "\r\n" itself. */
int proto_compose_value_line(struct proto_out *o, struct proto_span key, uint32_t client_flags,
			     uint32_t value_len, bool with_cas, uint64_t cas);
/** incr/decr: "<number>\r\n" unless noreply. */
int proto_compose_number(struct proto_out *o, const struct proto_request *req, uint64_t n);
/** "VERSION <v>\r\n" */
int proto_compose_version(struct proto_out *o, const char *version);
/** "STAT <name> <value>\r\n" */
int proto_compose_stat(struct proto_out *o, const char *name, const char *value);
/** Any line: `line` + "\r\n" (e.g. an executor-made CLIENT_ERROR). */
int proto_compose_line(struct proto_out *o, const char *line);

/** Meta return codes. */
enum proto_meta_code {
	PROTO_META_HD,
	PROTO_META_VA,
	PROTO_META_EN,
	PROTO_META_NF,
	PROTO_META_NS,
	PROTO_META_EX,
};

/** What the executor learned, for the return flags of a meta reply. */
struct proto_meta_item {
	struct proto_span key; /* k: the item's key (binary keys are base64-encoded) */
	bool key_binary;
	const void *value; /* VA: referenced */
	uint32_t value_len;
	uint32_t client_flags;	   /* f */
	uint64_t cas;		   /* c */
	int64_t ttl;		   /* t: remaining seconds, -1 for none, before T/N applied */
	int64_t ttl_new;	   /* t after a T (or N on a created item) earlier in the flags */
	bool ttl_changed;	   /* T was applied (N counts when `created` is set) */
	uint32_t last_access;	   /* l: seconds */
	bool fetched;		   /* h */
	bool win, stale, win_sent; /* W, X, Z */
	bool created;		   /* ma: N created the item (q does not hide that reply) */
};

/**
 * A meta reply for req (mg/ms/md/ma) with the return flags req asked for, in
 * its order, suppressed as q says (mg: EN; ms/md: HD; ma: HD/VA unless it->created).
 */
int proto_compose_meta(struct proto_out *o, const struct proto_request *req,
		       enum proto_meta_code code, const struct proto_meta_item *it);

/**
 * Only the status line of a meta reply (VA: the caller adds the value and
 * "\r\n", e.g. through proto_out_reserve). Returns 0, 1 if q suppressed the
 * reply (then add nothing), or a negative error.
 */
int proto_compose_meta_line(struct proto_out *o, const struct proto_request *req,
			    enum proto_meta_code code, const struct proto_meta_item *it);

/** me's item dump. */
struct proto_me_info {
	struct proto_span key;
	bool key_binary;
	int64_t exp; /* -1: never */
	uint64_t la;
	uint64_t cas;
	bool fetched;
	unsigned cls;
	uint64_t size;
};

/** "ME <key> exp=.. la=.. cas=.. fetch=.. cls=.. size=..\r\n" */
int proto_compose_me(struct proto_out *o, const struct proto_me_info *info);

/** Base64 as memcached's meta b flag uses it; 0 on error / no room. */
size_t proto_base64_decode(const char *src, size_t len, char *dst, size_t cap);
size_t proto_base64_encode(const char *src, size_t len, char *dst, size_t cap);

#endif
