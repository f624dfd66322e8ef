#!/usr/bin/env python3
"""`stats conns` as a client sees it: one idle connection (it sent `version`)
and this one asking. Prints the reply's line shapes, one per line and
sorted, with the connection numbers, addresses, ports and seconds replaced
(so dpcached's and memcached's can be compared), and the raw reply to stderr.

  stats_conns.py HOST PORT
"""
import re
import socket
import sys


def shapes(reply):
    out = set()
    for line in reply.splitlines():
        if line == "END":
            continue
        m = re.fullmatch(r"STAT (\d+):(\w+) (.*)", line)
        if not m:
            out.add("BAD " + line)
            continue
        value = re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "IP:PORT", m.group(3))
        value = re.sub(r"^\d+$", "N", value)
        out.add("STAT FD:%s %s" % (m.group(2), value))
    return sorted(out)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    idle = socket.create_connection((host, port), 5)
    idle.sendall(b"version\r\n")
    idle.recv(100)
    s = socket.create_connection((host, port), 5)
    s.sendall(b"stats conns\r\n")
    reply = b""
    while not reply.endswith(b"END\r\n"):
        d = s.recv(65536)
        if not d:
            break
        reply += d
    text = reply.decode()
    sys.stderr.write(text)
    print("\n".join(shapes(text)))
    # Both client connections are listed, the asking one as memcached shows it.
    me = "tcp:%s:%d" % s.getsockname()
    other = "tcp:%s:%d" % idle.getsockname()
    fd_me = re.search(r"STAT (\d+):addr " + re.escape(me) + "\r\n", text)
    fd_idle = re.search(r"STAT (\d+):addr " + re.escape(other) + "\r\n", text)
    ok = (fd_me and fd_idle and
          "STAT %s:state conn_parse_cmd" % fd_me.group(1) in text and
          "STAT %s:listen_addr tcp:%s:%d" % (fd_idle.group(1), host, port) in text)
    print("own and idle connection listed: %s" % ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
