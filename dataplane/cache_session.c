#include "cache_session.h"

#include <stdlib.h>
#include <time.h>

#define SESSION_IOV_MAX 1024
#define SESSION_HEADROOM 65536 /* reply lines around the largest value */

struct cache_session {
	struct process_worker pw;
	struct process_conn conn;
	size_t out_cap;
	struct iovec iov[SESSION_IOV_MAX];
	char out[]; /* out_cap bytes */
};

void *cache_session_open(const struct cache_session_config *cfg)
{
	size_t cap = (size_t)cfg->item_size_max + SESSION_HEADROOM;
	struct cache_session *s = calloc(1, sizeof(*s) + cap);
	struct proto_config pcfg = {.item_size_max = cfg->item_size_max};

	if (s == NULL)
		return NULL;
	s->out_cap = cap;
	if (process_worker_init(&s->pw, cfg->store, cfg->tid) < 0) {
		free(s);
		return NULL;
	}
	process_conn_init(&s->conn, &pcfg);
	return s;
}

int cache_session_input(void *session, const char *buf, size_t len, FILE *out)
{
	struct cache_session *s = session;
	struct proto_out o;
	enum process_status st;

	proto_out_init(&o, s->out, s->out_cap, s->iov, SESSION_IOV_MAX);
	st = process_input(&s->pw, &s->conn, buf, len, (uint32_t)time(NULL), &o);
	for (unsigned int i = 0; i < o.iov_cnt; i++)
		fwrite(o.iov[i].iov_base, 1, o.iov[i].iov_len, out);
	return st == PROCESS_CLOSE;
}

void cache_session_close(void *session)
{
	struct cache_session *s = session;

	process_conn_close(&s->pw, &s->conn);
	free(s);
}
