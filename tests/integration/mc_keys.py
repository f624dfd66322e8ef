#!/usr/bin/env python3
"""Sets and gets keys where a routing table says they live (run in the test's
namespace). The table is `dpcachectl route` output: KEY POOL SERVER [gutter].

  set ROUTES     store value-of-KEY at each key's SERVER (memcache text over TCP)
  get ROUTES     fetch each key from its SERVER; prints `SERVER hits misses`
                 per server, sorted (a value other than value-of-KEY fails)
Exit status 0 on success; a message on stderr otherwise.
"""
import socket
import sys


def main():
    mode, path = sys.argv[1], sys.argv[2]
    routes = [line.split() for line in open(path) if line.strip()]
    conns, counts, errors = {}, {}, []

    def conn(addr):
        if addr not in conns:
            host, port = addr.rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=5)
            conns[addr] = (s, s.makefile("rb"))
        return conns[addr]

    for r in routes:
        key, server = r[0].encode(), r[2]
        value = b"value-of-" + key
        s, f = conn(server)
        if mode == "set":
            s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
            line = f.readline()
            if line != b"STORED\r\n":
                errors.append("set %s at %s: %r" % (key.decode(), server, line))
            continue
        s.sendall(b"get %s\r\n" % key)
        line = f.readline()
        c = counts.setdefault(server, [0, 0])
        if line == b"END\r\n":
            c[1] += 1
            continue
        want = b"VALUE %s 0 %d\r\n" % (key, len(value))
        data = f.read(len(value) + 2)
        end = f.readline()
        if line != want or data != value + b"\r\n" or end != b"END\r\n":
            errors.append("get %s at %s: %r %r %r" % (key.decode(), server, line, data, end))
        else:
            c[0] += 1
    for addr in sorted(counts):
        print(addr, counts[addr][0], counts[addr][1])
    for e in errors[:10]:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
