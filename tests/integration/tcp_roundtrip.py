#!/usr/bin/env python3
"""pymemcache against dpcached over TCP: values of 0 B to 1 MB set and read
back byte for byte, multigets, cas, incr, delete, and 20 pipelining clients;
with --big also one multiget of 20 values of 1 MB (20 MB streamed through
one request; too slow for the impaired links of the loss tests). --patient
waits up to 120 s for each reply instead of 10-20 s: over a lossy link a
Linux client without SACK from its peer can wait for several seconds of
retransmission timeouts to fill a hole (docs/TCP.md).

  tcp_roundtrip.py HOST PORT [SETS_PER_CLIENT] [--big] [--patient]
"""
import sys
import threading

from pymemcache.client.base import Client

SIZES = [0, 1, 100, 1399, 1460, 1461, 4096, 65535, 65536, 100000, 500000, 1024 * 1024 - 512]


def value(size, salt=0):
    pattern = bytes((i * 13 + size + salt) & 0xFF for i in range(253))
    return (pattern * (size // 253 + 1))[:size]


def main():
    big_get = "--big" in sys.argv
    patient = "--patient" in sys.argv
    args = [a for a in sys.argv if a not in ("--big", "--patient")]
    host, port = args[1], int(args[2])
    per_client = int(args[3]) if len(args) > 3 else 200
    c = Client((host, port), connect_timeout=30 if patient else 5,
               timeout=120 if patient else 10)
    fails = []
    for n in SIZES:
        if not c.set("t%d" % n, value(n), noreply=False):
            fails.append("set t%d" % n)
        if c.get("t%d" % n) != value(n):
            fails.append("get t%d" % n)
    many = c.get_many(["t%d" % n for n in SIZES] + ["absent"])
    if sorted(many) != sorted("t%d" % n for n in SIZES) or any(
            many["t%d" % n] != value(n) for n in SIZES):
        fails.append("get_many")
    # A multiget far larger than any buffer: 20 values of 1 MB (20 MB) streamed.
    if big_get:
        big = {"big%d" % i: value(1024 * 1024 - 512, i) for i in range(20)}
        for k, v in big.items():
            c.set(k, v, noreply=False)
        got = c.get_many(list(big))
        if got != big:
            fails.append("get of 20 x 1 MB: %d of 20 values right" %
                          sum(got.get(k) == v for k, v in big.items()))
    v, cas = c.gets("t100")
    if not c.cas("t100", b"new", cas) or c.cas("t100", b"newer", cas):
        fails.append("cas")
    c.set("n", b"41")
    if c.incr("n", 1) != 42 or c.decr("n", 50) != 0:
        fails.append("incr/decr")
    if not c.delete("n", noreply=False) or c.get("n") is not None:
        fails.append("delete")

    # 20 clients, each pipelining its sets (noreply) then reading every key back.
    errors = []

    def worker(i):
        try:
            cl = Client((host, port), connect_timeout=30 if patient else 5,
                        timeout=120 if patient else 20)
            items = {"p%d_%d" % (i, k): value(k * 37 % 3000, i) for k in range(per_client)}
            cl.set_many(items, noreply=True)
            got = cl.get_many(list(items))
            if got != items:
                errors.append("client %d: %d of %d values right" %
                              (i, sum(got.get(k) == v for k, v in items.items()), len(items)))
            cl.close()
        except Exception as e:  # noqa: BLE001 - report any failure as a test failure
            errors.append("client %d: %r" % (i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fails += errors
    print("%d sizes%s, 20 clients x %d pipelined sets: %s" %
          (len(SIZES), ", 20 x 1 MB in one get" if big_get else "", per_client,
           "; ".join(fails) or "all right"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
