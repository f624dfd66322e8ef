#!/usr/bin/env python3
"""Per-partition UDP ports (--udp-port-base), from the client's side.

  udp_ports.py load SOCKET N                 set keys p0..p<N-1> through the admin socket
  udp_ports.py check HOST BASE PARTS N       get every key on its owner's port
                                             (BASE + partition) and on every other
                                             partition port; compare byte for byte
  udp_ports.py flood HOST PORT COUNT         COUNT gets of p0 to one port (for per-worker
                                             counters)

A key's partition is what the store computes: bits 32..47 of XXH3-64 of the key,
modulo the number of partitions (dataplane/store/store_internal.h, hash_part).
"""
import sys

import xxhash

from udp_client import admin_session, recv_until, udp_request, udp_socket


def partition(key, parts):
    return ((xxhash.xxh3_64_intdigest(key) >> 32) & 0xFFFF) % parts


def value(i):
    return b"value-%d-" % i * (i % 7 + 1)


def load(path, n):
    s = admin_session(path)
    for i in range(n):
        v = value(i)
        s.sendall(b"set p%d %d 0 %d\r\n" % (i, i, len(v)) + v + b"\r\n")
        if recv_until(s, b"\r\n") != b"STORED\r\n":
            raise SystemExit(f"set p{i} failed")
    s.close()
    print(f"loaded {n} keys")


def check(host, base, parts, n):
    socks = [udp_socket(host, base + p) for p in range(parts)]
    owned = [0] * parts
    failures = 0
    rid = 1
    for i in range(n):
        key = b"p%d" % i
        want = b"VALUE %s %d %d\r\n" % (key, i, len(value(i))) + value(i) + b"\r\nEND\r\n"
        owner = partition(key, parts)
        owned[owner] += 1
        for p in [owner] + [q for q in range(parts) if q != owner]:
            rid = rid % 65535 + 1
            if udp_request(socks[p], rid, b"get " + key + b"\r\n") != want:
                print(f"get {key!r} on port {base + p} (owner {base + owner}): wrong reply")
                failures += 1
    print(f"{n} keys, per partition {owned}, {failures} wrong replies")
    return 1 if failures else 0


def flood(host, port, count):
    sock = udp_socket(host, port)
    for rid in range(1, count + 1):
        udp_request(sock, rid, b"get p0\r\n")
    print(f"{count} gets answered on port {port}")
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "load":
        load(a[1], int(a[2]))
        return 0
    if len(a) == 5 and a[0] == "check":
        return check(a[1], int(a[2]), int(a[3]), int(a[4]))
    if len(a) == 4 and a[0] == "flood":
        return flood(a[1], int(a[2]), int(a[3]))
    if len(a) == 3 and a[0] == "partition":
        print(partition(a[1].encode(), int(a[2])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
