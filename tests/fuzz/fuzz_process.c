/*
 * libFuzzer target: a connection's bytes through the executor
 * (dataplane/process) over a real store, fed in pieces; the store lives for
 * the whole run, so state (items, leases, pending values) carries over
 * between inputs like a long-lived server. Checks: no crash or sanitizer
 * report, replies always fit the output, and a connection that the executor
 * closes mid-value leaves no reserved item behind (store_abort runs).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "process/process.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct process_worker w = {.version = "1.6.18"};
static char out_buf[4 << 20];
static struct iovec out_iov[8192];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct process_conn conn;
	struct proto_config cfg = {0};
	struct proto_out out;
	size_t off = 0;
	uint32_t now = 1700000000;

	if (w.store == NULL) {
		struct store_config sc = {.limit_bytes = 16u << 20, .item_size_max = 64 << 10};

		if (store_setup(&sc, &w.store) != 0)
			abort();
		w.thread = store_thread(w.store, 0);
	}
	if (size < 2)
		return 0;
	cfg.item_size_max = (data[0] & 1) ? 200 : 64 << 10;
	cfg.udp = (data[0] & 2) != 0;
	now += data[0] >> 2; /* time moves a little between inputs */
	process_conn_init(&conn, &cfg);
	proto_out_init(&out, out_buf, sizeof(out_buf), out_iov, 8192);
	data++;
	size--;
	while (off < size) {
		size_t piece = 1 + (data[off] % 61);

		if (piece > size - off)
			piece = size - off;
		if (process_input(&w, &conn, (const char *)data + off, piece, now, &out) ==
		    PROCESS_CLOSE)
			break;
		off += piece;
		if (out.used > sizeof(out_buf) / 2)
			proto_out_init(&out, out_buf, sizeof(out_buf), out_iov, 8192);
	}
	process_conn_close(&w, &conn);
	store_maintain(w.store, 0, now, 64);
	return 0;
}
