/*
 * The arena: one mapping that holds every partition (header, hash index,
 * page map, slab pages). Anonymous memory, or a named file for hot restart.
 *
 * A file is trusted only if its header says it was shut down cleanly by this
 * version with exactly the layout the current config produces, and its
 * checksum matches. Anything else is logged and the file zeroed (truncating
 * it to 0 and back drops every page on tmpfs and hugetlbfs). While a store
 * runs its file says "not clean", so a crash leaves a file that is discarded.
 */
#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "store_internal.h"

#define ROUND_UP(x, a) (((x) + (a)-1) / (a) * (a))

void arena_log(const struct store *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->cfg.log)
		s->cfg.log(s->cfg.log_ctx, line);
	else
		fprintf(stderr, "store: %s\n", line);
}

/* Slab classes as memcached builds them: chunk_min * factor^n, 8-byte aligned, last = page. */
static unsigned build_classes(const struct store_config *cfg, uint32_t *sizes)
{
	double size = cfg->chunk_min;
	unsigned n = 0;

	while (n < STORE_CLASSES_MAX - 1 && size <= cfg->item_size_max / 2.0) {
		uint32_t sz = ROUND_UP((uint32_t)size, 8);

		if (n > 0 && sz <= sizes[n])
			sz = sizes[n] + 8;
		if (sz > cfg->item_size_max / 2)
			break;
		sizes[++n] = sz;
		size = sz * cfg->growth_factor;
	}
	sizes[++n] = cfg->item_size_max;
	return n;
}

static uint32_t next_pow2(uint64_t x)
{
	uint32_t p = 64;

	while (p < x && p < (1u << 30))
		p <<= 1;
	return p;
}

static void compute_layout(const struct store_config *cfg, struct arena_layout *l)
{
	uint64_t pages = cfg->limit_bytes / cfg->item_size_max;
	uint64_t off = ARENA_ALIGN; /* the arena header's region */
	unsigned i;

	memset(l, 0, sizeof(*l));
	l->sizeof_part = sizeof(struct part);
	l->sizeof_item = sizeof(struct item);
	l->sizeof_bucket = sizeof(struct bucket);
	l->sizeof_class = sizeof(struct slab_class);
	l->limit_bytes = cfg->limit_bytes;
	l->item_size_max = cfg->item_size_max;
	l->nparts = cfg->partitions;
	l->transient_ttl_max = cfg->transient_ttl_max;
	l->nclasses = build_classes(cfg, l->class_size);
	/* Index sized for items of ~100 bytes at 5 per bucket; overflow for the rest. */
	l->nbuckets =
	    cfg->buckets ? cfg->buckets : next_pow2(cfg->limit_bytes / cfg->partitions / 100 / 5);
	l->nover = l->nbuckets / 4 + 16;
	for (i = 0; i < cfg->partitions; i++) {
		uint64_t np = pages / cfg->partitions + (i < pages % cfg->partitions);
		uint64_t sz = ROUND_UP(sizeof(struct part), 4096);

		sz += (uint64_t)(l->nbuckets + l->nover) * sizeof(struct bucket);
		sz = ROUND_UP(sz + np, 4096);
		sz += np * cfg->item_size_max;
		sz = ROUND_UP(sz, ARENA_ALIGN);
		l->npages[i] = (uint32_t)np;
		l->part_off[i] = off;
		l->part_size[i] = sz;
		off += sz;
	}
	l->total_size = off;
}

static void init_part(struct store *s, unsigned i)
{
	const struct arena_layout *l = &s->hdr->layout;
	struct part *p = (struct part *)(s->base + l->part_off[i]);
	uint64_t off = ROUND_UP(sizeof(struct part), 4096);
	uint32_t k;

	p->id = i;
	p->next_cas = i + 1;
	p->nbuckets = l->nbuckets;
	p->nover = l->nover;
	p->npages = l->npages[i];
	p->buckets_off = off;
	off += (uint64_t)l->nbuckets * sizeof(struct bucket);
	p->over_off = off;
	off += (uint64_t)l->nover * sizeof(struct bucket);
	p->pagemap_off = off;
	p->pages_off = ROUND_UP(off + p->npages, 4096);
	p->pages_free = p->npages;
	for (k = 1; k < l->nover; k++)
		part_over(p, k)->next = k + 1;
	p->over_free = l->nover ? 1 : 0;
	slab_init_part(s, p);
}

static uint64_t header_checksum(struct arena_hdr *h)
{
	uint64_t saved = h->checksum, sum;

	h->checksum = 0;
	sum = XXH3_64bits(h, sizeof(*h));
	h->checksum = saved;
	return sum;
}

/* Why the file at base cannot be trusted, or NULL if it can. */
static const char *file_unusable(const struct arena_hdr *h, const struct arena_layout *want)
{
	if (h->magic != ARENA_MAGIC)
		return "not a dpcache memory file";
	if (h->version != ARENA_VERSION || h->hdr_size != sizeof(*h))
		return "written by another version";
	if (!h->clean)
		return "not shut down cleanly (crash?)";
	if (h->checksum != header_checksum((struct arena_hdr *)h))
		return "header checksum mismatch";
	if (memcmp(&h->layout, want, sizeof(*want)) != 0)
		return "layout differs (memory limit, -I, -f, partitions, index size or build "
		       "changed)";
	return NULL;
}

static void bind_numa(struct store *s)
{
	unsigned i;

	if (!s->cfg.numa_bind || numa_available() < 0)
		return;
	for (i = 0; i < s->cfg.partitions; i++) {
		int node = s->cfg.numa_node[i];

		if (node < 0 || node > numa_max_node())
			continue;
		numa_tonode_memory(s->base + s->hdr->layout.part_off[i],
				   s->hdr->layout.part_size[i], node);
	}
}

static int map_file(struct store *s, const struct arena_layout *want, bool *attach)
{
	const char *path = s->cfg.memory_file;
	struct stat st;
	void *m;

	*attach = false;
	s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		arena_log(s, "memory file %s: %s", path, strerror(errno));
		return -errno;
	}
	/* One process per file: a second dpcached on the same file would corrupt it. */
	if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
		arena_log(s, "memory file %s: in use by another process", path);
		return -EBUSY;
	}
	if (fstat(s->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size == want->total_size) {
		m = mmap(NULL, want->total_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
		if (m == MAP_FAILED) {
			arena_log(s, "memory file %s: mmap: %s", path, strerror(errno));
			return -errno;
		}
		const char *why = file_unusable(m, want);
		if (!why) {
			s->base = m;
			*attach = true;
			return 0;
		}
		arena_log(s, "memory file %s: discarded: %s", path, why);
		munmap(m, want->total_size);
	} else if (st.st_size != 0) {
		arena_log(s, "memory file %s: discarded: size %lld, expected %llu", path,
			  (long long)st.st_size, (unsigned long long)want->total_size);
	}
	if (ftruncate(s->fd, 0) < 0 || ftruncate(s->fd, (off_t)want->total_size) < 0) {
		arena_log(s, "memory file %s: truncate: %s", path, strerror(errno));
		return -errno;
	}
	m = mmap(NULL, want->total_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (m == MAP_FAILED) {
		arena_log(s, "memory file %s: mmap: %s", path, strerror(errno));
		return -errno;
	}
	s->base = m;
	return 0;
}

int arena_open(struct store *s)
{
	struct arena_layout want;
	bool attach = false;
	unsigned i;
	int rc;

	compute_layout(&s->cfg, &want);
	s->fd = -1;
	if (s->cfg.memory_file) {
		rc = map_file(s, &want, &attach);
		if (rc)
			return rc;
	} else {
		void *m = mmap(NULL, want.total_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return -errno;
		/* Transparent hugepages where the kernel allows: the index and
		 * items are touched at random, and TLB misses dominate a get. */
		madvise(m, want.total_size, MADV_HUGEPAGE);
		s->base = m;
	}
	s->hdr = (struct arena_hdr *)s->base;
	for (i = 0; i < want.nparts; i++)
		s->parts[i] = (struct part *)(s->base + want.part_off[i]);
	if (attach) {
		s->reattached = true;
		__atomic_store_n(&s->hdr->clean, 0, __ATOMIC_RELEASE);
		for (i = 0; i < want.nparts; i++)
			slab_recover(s, s->parts[i]);
		arena_log(s, "memory file %s: re-attached", s->cfg.memory_file);
		return 0;
	}
	bind_numa(s);
	s->hdr->magic = ARENA_MAGIC;
	s->hdr->version = ARENA_VERSION;
	s->hdr->hdr_size = sizeof(*s->hdr);
	s->hdr->layout = want;
	for (i = 0; i < want.nparts; i++)
		init_part(s, i);
	return 0;
}

void arena_close(struct store *s, bool clean)
{
	if (s->base) {
		uint64_t size = s->hdr->layout.total_size;

		if (s->fd >= 0 && clean) {
			s->hdr->clean = 1;
			s->hdr->checksum = header_checksum(s->hdr);
			msync(s->base, size, MS_SYNC);
		}
		munmap(s->base, size);
		s->base = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
