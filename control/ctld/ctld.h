/*
 * dpcache-ctld's shared state. One thread runs everything (a poll loop over
 * the control socket, the probes and the store's event fd); the ZooKeeper
 * library's own threads only wake that loop.
 */
#ifndef DPCACHE_CTLD_H
#define DPCACHE_CTLD_H

#include <stdint.h>

#include "dpcache/config.h"
#include "health.h"
#include "store.h"

#define CTL_LINE_MAX	4096 /* longest request line, newline included */
#define CTL_CLIENTS_MAX 64

struct ctld_options {
	const char *ctl_socket;
	const char *state_file;
	const char *config_out;
	const char *zk_hosts;
	const char *zk_root;
	const char *id;
	const char *probe; /* "version" or "mn" */
	unsigned zk_session_ms;
	struct health_params health;
};

struct ctl_client {
	int fd;
	int watching; /* `config watch`: gets every new version */
	char in[CTL_LINE_MAX];
	size_t in_len;
	char *out; /* pending reply bytes */
	size_t out_len, out_cap;
	int closing;  /* 1: close once out is flushed; 2: close now */
	int draining; /* refused: our side is shut, input is discarded */
};

struct ctld_counters {
	uint64_t commands;
	uint64_t command_errors;
	uint64_t versions_published;
	uint64_t store_errors;
	uint64_t clients_refused;
};

struct ctld {
	struct ctld_options opt;
	struct store store;
	int leader;
	struct cfg cfg;	 /* the current config (version cfg.version) */
	char *doc;	 /* cfg as published */
	uint64_t synced; /* cfg version the probes were matched to */
	struct health health;
	int listen_fd;
	struct ctl_client clients[CTL_CLIENTS_MAX];
	struct ctld_counters n;
	uint64_t started_ms;
};

/* Log one line to stderr with a timestamp. */
void ctld_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Apply a change as leader: @p fn mutates a copy of the config; on success
 * the version is bumped, saved to the store and published. Nothing changes
 * if any step fails (message in @p err).
 */
typedef int (*ctld_mutation)(struct cfg *c, void *arg, char *err, size_t errlen);
int ctld_commit(struct ctld *d, ctld_mutation fn, void *arg, char *err, size_t errlen);

/* Adopt a document loaded from the store if it is newer; publish it. */
int ctld_adopt(struct ctld *d, const char *doc, char *err, size_t errlen);

/* publish.c: write the config file and push the document to watchers. */
void ctld_publish(struct ctld *d);

/* ctl_socket.c */
int ctl_socket_open(struct ctld *d, char *err, size_t errlen);
void ctl_socket_close(struct ctld *d);
size_t ctl_socket_pollfds(struct ctld *d, struct pollfd *fds, size_t max);
void ctl_socket_input(struct ctld *d, int fd, short revents);
void ctl_client_send(struct ctl_client *cl, const char *data, size_t len);

/* commands.c: one request line → one reply line (JSON, with its newline). */
void ctld_command(struct ctld *d, struct ctl_client *cl, char *line);
/* {"ok":true,"version":N,"config":DOC} to one client. */
void ctld_send_config(struct ctld *d, struct ctl_client *cl);

#endif
