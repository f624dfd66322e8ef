/**
 * @file store.h
 * The cache store: memcached semantics over partitioned slab memory.
 *
 * The store knows nothing of DPDK or of protocol strings. It is made of
 * partitions (one per worker), each with its own slab pages, hash index,
 * segmented LRU, transient (short TTL) item cache and counters, placed on the
 * worker's NUMA node. One xxh3 64-bit hash of the key picks the partition, the
 * bucket and a 16-bit tag.
 *
 * Concurrency is CREW: any thread reads any partition without a lock
 * (optimistic reads: the value is copied out, then the bucket's version is
 * checked, and the read retried if a writer got in between); writes to a
 * partition are serialised by that partition's lock, which its owner worker
 * normally takes uncontended. A reader never returns a torn or recycled value.
 *
 * Every call that touches an item takes `now`, the current unix time in
 * seconds: the store has no clock of its own, so tests control time.
 *
 * The memory (slab pages and index) lives in one mapping that holds offsets,
 * never pointers. Given a `memory_file`, the mapping is that file (on
 * hugetlbfs for hugepages, or on /dev/shm, /tmp...), and a new process that
 * opens the same file after a clean store_teardown() re-attaches to every item.
 */
#ifndef DPCACHE_STORE_H
#define DPCACHE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest key (memcached's KEY_MAX_LENGTH). */
#define STORE_KEY_MAX 250
/** Most partitions a store can have. */
#define STORE_PARTITIONS_MAX 64
/** Most calling threads (store_thread indices). */
#define STORE_THREADS_MAX 128
/** Most slab classes (memcached's MAX_NUMBER_OF_SLAB_CLASSES - 1). */
#define STORE_CLASSES_MAX 63
/** Suggested lease interval when the paper's rate limit is on (store_config.lease_ttl). */
#define STORE_LEASE_TTL_DEFAULT 10
/** Relative exptimes up to this many seconds; larger ones are unix times. */
#define STORE_REALTIME_MAXDELTA (60 * 60 * 24 * 30)

struct store;
struct store_thread;

/** How to build a store; zero fields take the default in brackets. */
struct store_config {
	uint64_t limit_bytes;	/**< hard limit on item memory, memcached's -m [64 MB] */
	uint32_t item_size_max; /**< largest item (header+key+value), page size, -I [1 MB] */
	double growth_factor;	/**< slab class growth factor, -f [1.25] */
	uint32_t chunk_min;	/**< smallest chunk in bytes (>= 48), -n-like [48] */
	unsigned partitions;	/**< partitions, one per worker [1] */
	unsigned threads; /**< calling threads (0 .. threads-1 for store_thread) [partitions] */
	int numa_node[STORE_PARTITIONS_MAX]; /**< node of each partition; -1 = any; used
						  only when numa_bind is set */
	bool numa_bind;		    /**< bind each partition's memory to numa_node[i] (libnuma) */
	uint32_t buckets;	    /**< hash buckets per partition (power of 2) [from limit] */
	uint32_t transient_ttl_max; /**< items with TTL <= this go to the transient cache;
					 0 disables it [0] */
	uint32_t lease_ttl;	    /**< 0: memcached 1.6 win/Z rules; > 0: at most one win per
					 key per lease_ttl seconds (the paper's rate limit) [0] */
	bool no_rebalance;	    /**< disable adaptive slab rebalancing */
	const char *memory_file;    /**< file to map (hot restart); NULL = anonymous memory */
	void (*log)(void *ctx, const char *line); /**< log lines (no newline); NULL = stderr */
	void *log_ctx;
};

/** Outcome of a store operation. */
enum store_result {
	STORE_OK = 0,	   /**< found / deleted / touched / done */
	STORE_STORED,	   /**< a storage command stored the item */
	STORE_NOT_STORED,  /**< add on an existing key, replace/append/prepend on a missing one */
	STORE_EXISTS,	   /**< cas mismatch */
	STORE_NOT_FOUND,   /**< no such (live) item */
	STORE_TOO_LARGE,   /**< header + key + value > item_size_max */
	STORE_NO_MEMORY,   /**< nothing could be evicted to make room */
	STORE_NON_NUMERIC, /**< incr/decr on a value that is not a decimal number */
	STORE_BAD_KEY,	   /**< key empty or longer than STORE_KEY_MAX */
	STORE_ABORTED,	   /**< the sink refused the value (e.g. no room) */
};

/** Storage operation of store_set(). */
enum store_op {
	STORE_OP_SET,
	STORE_OP_ADD,
	STORE_OP_REPLACE,
	STORE_OP_APPEND,
	STORE_OP_PREPEND,
	STORE_OP_CAS, /**< set if the item's CAS equals store_set_args.cas */
};

/** What a read learned about the item (all fields valid on STORE_OK). */
struct store_item_info {
	uint32_t flags;	      /**< client flags */
	uint32_t value_len;   /**< value bytes */
	uint64_t cas;	      /**< CAS unique (the lease token for meta clients) */
	uint32_t exptime;     /**< absolute unix time, 0 = never */
	int64_t ttl;	      /**< remaining seconds, -1 = never (meta t), before a touch */
	uint32_t last_access; /**< seconds since the last access (meta l), before this one */
	bool fetched;	      /**< fetched before this read (meta h) */
	bool stale;	      /**< invalidated item (meta X) */
	bool win;	      /**< this caller won the right to recache (meta W) */
	bool win_sent;	      /**< another caller already won (meta Z) */
	bool created;	      /**< vivify (or ma with N) created the item */
	bool key_binary;      /**< stored by ms b: meta k shows it base64-encoded */
	uint8_t slab_class;   /**< slab class id (meta debug: cls) */
	uint32_t item_size;   /**< header + key + value bytes (meta debug: size) */
};

/**
 * Where a read copies the value. The store calls begin() once per attempt,
 * then copy() for consecutive ranges [off, off+len) of the value, possibly
 * over several attempts (a retry after a concurrent write starts again with
 * begin()): the sink must let a later attempt overwrite an earlier one. The
 * bytes come straight from item memory, so the sink can write them into an
 * mbuf chain without an intermediate buffer. Only the last attempt's bytes
 * are valid. begin() or copy() returning non-zero aborts the read
 * (STORE_ABORTED); info is then filled.
 */
struct store_sink {
	int (*begin)(void *ctx, const struct store_item_info *info);
	int (*copy)(void *ctx, uint32_t off, const void *src, uint32_t len);
	void *ctx;
};

/**
 * A plain caller buffer as a sink: store_sink_buf() fills `sink` so that the
 * value lands in buf[0 .. cap); a value longer than cap aborts the read with
 * STORE_ABORTED and info->value_len tells the size needed.
 */
struct store_buf {
	void *buf;
	uint32_t cap;
	uint32_t len;
};
void store_sink_buf(struct store_sink *sink, struct store_buf *b, void *buf, uint32_t cap);

/** Options of store_mget() (meta get, gat); zero = none. */
struct store_get_args {
	bool touch;		/**< set a new exptime (gat, mg T) */
	int64_t exptime;	/**< ... this one (protocol form: relative, absolute, negative) */
	bool vivify;		/**< mg N: on a miss create an empty item and win */
	int64_t vivify_exptime; /**< ... with this exptime */
	bool recache;		/**< mg R: win if the remaining TTL is below recache_ttl */
	uint32_t recache_ttl;
	bool recache_after_touch; /**< mg T before R: R looks at the TTL the touch sets */
	bool no_bump;  /**< do not count as an access (no LRU bump, no atime/fetched update) */
	bool no_lease; /**< gat: no lease rules (a stale item gives no win, as memcached's gat) */
};

/** Options of store_set(). */
struct store_set_args {
	enum store_op op;
	uint32_t flags;	  /**< client flags */
	int64_t exptime;  /**< protocol form: 0 never, <= 30 days relative, else unix time, < 0
			     expired */
	uint64_t cas;	  /**< STORE_OP_CAS: the expected CAS; APPEND/PREPEND: if not 0, must
			       match too (STORE_EXISTS otherwise), as ms MA/MP with C */
	bool set_stale;	  /**< ms I: with a CAS older than the item's, store as a stale item */
	uint64_t new_cas; /**< ms E: use this CAS instead of a fresh one (0 = fresh) */
	bool key_binary;  /**< ms b: remember that the key came base64-encoded (not kept by
			       append/prepend, which make a new item, as in memcached) */
};

/** Options of store_delete(). */
struct store_delete_args {
	uint64_t cas;	  /**< md C: delete only if the CAS matches (0 = any) */
	bool has_cas;	  /**< md C given: the CAS must match even if 0 (C0 never does) */
	bool invalidate;  /**< md I: keep the item as stale, bump its CAS, re-arm one win */
	bool set_exptime; /**< md T with I: the stale item's new exptime */
	int64_t exptime;
	uint32_t holdoff; /**< > 0: replace the item by a tombstone that misses on reads and
			       makes add fail for this many seconds (cold-cluster rule) */
};

/** Options of store_arith() (incr, decr, ma). */
struct store_arith_args {
	bool incr; /**< true: incr (wraps at 2^64), false: decr (floors at 0) */
	uint64_t delta;
	uint64_t cas;		/**< ma C: only if the CAS matches (0 = any) */
	bool vivify;		/**< ma N: create the item on a miss with `initial` */
	uint64_t initial;	/**< ma J */
	int64_t vivify_exptime; /**< ma N's TTL */
	bool touch;		/**< ma T (not when the number grows: see store_arith) */
	int64_t exptime;
};

/** Counters of a partition, or of the whole store when summed. */
struct store_stats {
	uint64_t curr_items;	    /**< linked items, stale and tombstones included */
	uint64_t total_items;	    /**< items ever stored */
	uint64_t bytes;		    /**< bytes of linked items (header + key + value) */
	uint64_t limit_maxbytes;    /**< the memory limit */
	uint64_t total_malloced;    /**< slab pages handed to classes, in bytes (never > limit) */
	uint64_t evictions;	    /**< live items evicted from an LRU tail to make room */
	uint64_t expired_unfetched; /**< expired items reclaimed that were never fetched */
	uint64_t evicted_unfetched; /**< evicted items that were never fetched */
	uint64_t reclaimed;	    /**< expired or flushed items whose memory was reused */
	uint64_t transient_freed;   /**< items freed by the transient cache */
	uint64_t slabs_moved;	    /**< pages moved between classes by rebalancing */
	uint64_t slab_reassign_evictions; /**< live items dropped with a page that moved */
	uint64_t hash_bytes;		  /**< memory of the hash index (not in limit_maxbytes) */
	uint64_t get_hits;
	uint64_t get_misses;
	uint64_t get_expired; /**< gets that found an expired item */
	uint64_t get_flushed; /**< gets that found a flushed item */
	uint64_t cmd_set;     /**< storage commands (set/add/replace/append/prepend/cas) */
	uint64_t cmd_touch;
	uint64_t touch_hits;
	uint64_t touch_misses;
	uint64_t delete_hits;
	uint64_t delete_misses;
	uint64_t incr_hits;
	uint64_t incr_misses;
	uint64_t decr_hits;
	uint64_t decr_misses;
	uint64_t cas_hits;
	uint64_t cas_misses;
	uint64_t cas_badval;
	uint64_t cmd_flush;
	uint64_t read_retries; /**< optimistic reads retried after a concurrent write */
};

/** One slab class, as memcached's `stats slabs` and `stats items` show it. */
struct store_class_stats {
	uint32_t chunk_size;
	uint32_t chunks_per_page;
	uint64_t total_pages;
	uint64_t total_chunks;
	uint64_t used_chunks;
	uint64_t free_chunks;
	uint64_t mem_requested; /**< bytes of the items in this class */
	uint64_t number;	/**< items (stats items: number) */
	uint64_t number_hot, number_warm, number_cold;
	uint64_t age; /**< seconds since the access of the oldest cold item */
	uint64_t evicted;
	uint64_t evicted_nonzero; /**< evicted items that had an exptime */
	uint64_t evicted_time;	  /**< seconds since the last access of the last evicted item */
	uint64_t evicted_unfetched;
	uint64_t expired_unfetched;
	uint64_t reclaimed;
	uint64_t outofmemory;
	uint64_t moves_to_cold, moves_to_warm, moves_within_lru;
	uint64_t cmd_set;
};

/**
 * Build a store. With cfg->memory_file naming a file that a clean teardown
 * left with the same layout, the store re-attaches to it (see
 * store_reattached()); a file that is of another version or layout, or was not
 * shut down cleanly, is logged and discarded. Returns 0 or a negative errno.
 */
int store_setup(const struct store_config *cfg, struct store **out);

/**
 * Release the store. With clean set, the memory file (if any) is marked as
 * cleanly shut down so the next store_setup() re-attaches to it. No other
 * thread may be using the store.
 */
void store_teardown(struct store *s, bool clean);

/** True if store_setup() re-attached to an existing memory file. */
bool store_reattached(const struct store *s);

/** The configuration in effect (defaults filled in). */
const struct store_config *store_config(const struct store *s);

/** Per-thread context of calling thread `tid` (< cfg.threads); NULL if out of range. */
struct store_thread *store_thread(struct store *s, unsigned tid);

/** The 64-bit key hash (XXH3_64bits). */
uint64_t store_hash(const void *key, size_t klen);

/** The partition that owns a key (for steering requests to the owner). */
unsigned store_partition_of(const struct store *s, const void *key, size_t klen);

/**
 * Warm the caches for a coming get of the key with hash h (store_hash):
 * with item = false, prefetch its bucket; with item = true (a little later,
 * once the bucket is in cache), also the first item in it its tag matches
 * (the key's own but for a 16-bit tag collision). A burst of gets runs
 * faster prefetching all buckets, then all items, then getting.
 */
void store_prefetch(struct store_thread *t, uint64_t h, bool item);

/** Number of partitions. */
unsigned store_partitions(const struct store *s);

/**
 * get/gets: copy the value of a live item into `sink` and fill `info`.
 * Lock-free; counts get_hits/get_misses. Returns STORE_OK, STORE_NOT_FOUND,
 * STORE_BAD_KEY or STORE_ABORTED.
 */
enum store_result store_get(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			    const struct store_sink *sink, struct store_item_info *info);

/** store_get() of a key whose store_hash() the caller has already: h. */
enum store_result store_get_hashed(struct store_thread *t, uint64_t h, const void *key,
				   size_t klen, uint32_t now, const struct store_sink *sink,
				   struct store_item_info *info);

/**
 * Meta get / gat: store_get() with the options of `args` (touch, vivify,
 * recache) and the lease rules: a stale item or a vivified placeholder gives
 * one caller `win`, later callers `win_sent`. `sink` may be NULL (no value
 * wanted). Takes the partition lock only when it has to change the item.
 */
enum store_result store_mget(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			     const struct store_get_args *args, const struct store_sink *sink,
			     struct store_item_info *info);

/**
 * set/add/replace/append/prepend/cas with value bytes in one piece. On
 * STORE_STORED, *cas_out (if not NULL) is the item's new CAS. A SET that is
 * STORE_TOO_LARGE removes the old item, as memcached does.
 */
enum store_result store_set(struct store_thread *t, const void *key, size_t klen, const void *value,
			    uint32_t vlen, uint32_t now, const struct store_set_args *args,
			    uint64_t *cas_out);

/** store_set() of a key whose store_hash() the caller has already: h. */
enum store_result store_set_hashed(struct store_thread *t, uint64_t h, const void *key,
				   size_t klen, const void *value, uint32_t vlen, uint32_t now,
				   const struct store_set_args *args, uint64_t *cas_out);

/**
 * A value that arrives in pieces (e.g. across TCP segments): reserve an
 * unlinked item with store_reserve(), fill it with store_pending_write() (or
 * through store_pending_data()), then store_commit() links it as `args` says
 * or store_abort() frees it. A reserved item holds memory but is invisible.
 */
struct store_pending {
	struct store *s;
	unsigned part;
	uint64_t off; /* the item's offset in the arena */
	uint64_t hash;
	uint32_t vlen;
};
enum store_result store_reserve(struct store_thread *t, const void *key, size_t klen, uint32_t vlen,
				uint32_t now, struct store_pending *p);
/** Where the value of a reserved item goes (vlen bytes). */
void *store_pending_data(const struct store_pending *p);
void store_pending_write(const struct store_pending *p, uint32_t off, const void *src,
			 uint32_t len);
enum store_result store_commit(struct store_thread *t, struct store_pending *p, uint32_t now,
			       const struct store_set_args *args, uint64_t *cas_out);
void store_abort(struct store_thread *t, struct store_pending *p);

/**
 * delete / md: STORE_OK, STORE_NOT_FOUND or STORE_EXISTS (cas mismatch).
 * args may be NULL (plain delete).
 */
enum store_result store_delete(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			       const struct store_delete_args *args);

/**
 * incr/decr/ma: *value_out is the new value. STORE_OK, STORE_NOT_FOUND,
 * STORE_NON_NUMERIC, STORE_EXISTS (cas), STORE_NO_MEMORY. info (may be NULL)
 * gets the item's flags, cas, ttl and created. As in memcached, this is not a
 * read (the fetched bit stays as it was); a result that fits the old value is
 * written in place, space-padded, and keeps the item's state; a longer one
 * makes a new item (not fetched, not stale, no token, not binary), and then
 * args->touch does not apply (memcached touches the item it replaced).
 */
enum store_result store_arith(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			      const struct store_arith_args *args, uint64_t *value_out,
			      struct store_item_info *info);

/** touch: STORE_OK or STORE_NOT_FOUND. */
enum store_result store_touch(struct store_thread *t, const void *key, size_t klen, uint32_t now,
			      int64_t exptime);

/**
 * flush_all [delay]: every item stored before now + delay (protocol exptime
 * form, 0 = now) stops being visible at that time.
 */
void store_flush(struct store *s, uint32_t now, int64_t delay);

/**
 * Housekeeping a partition's owner calls from its loop (every few ms): frees
 * the transient cache's past seconds, reclaims expired and flushed items from
 * LRU tails, balances the hot/warm/cold segments and rebalances slab pages.
 * Does at most `budget` items of work; returns the work done.
 */
unsigned store_maintain(struct store *s, unsigned part, uint32_t now, unsigned budget);

/** Counters of partition `part`, or summed over all partitions if part < 0. */
void store_stats(const struct store *s, int part, struct store_stats *out);

/** Number of slab classes (ids 1 .. n). */
unsigned store_classes(const struct store *s);

/**
 * Counters of slab class `cls` (1-based) in partition `part`, or summed if
 * part < 0; `now` gives the age of the oldest item.
 */
void store_class_stats(const struct store *s, int part, unsigned cls, uint32_t now,
		       struct store_class_stats *out);

/** Result as a short name ("STORED", "NOT_FOUND", ...) for logs and tests. */
const char *store_result_name(enum store_result r);

/**
 * Turn a protocol exptime (0 never, <= 30 days relative, else absolute unix
 * time, negative = already expired) into an absolute unix time (0 = never).
 */
uint32_t store_exptime(int64_t exptime, uint32_t now);

#endif
