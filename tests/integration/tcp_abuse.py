#!/usr/bin/env python3
"""Abusive TCP peers for the integration tests (stdlib + pymemcache).

  tcp_abuse.py nonreader HOST PORT MB HOLD pipeline MB megabytes of gets and never
                                           read; meanwhile another client must be served;
                                           then hold the connection HOLD seconds
  tcp_abuse.py steady HOST PORT SECONDS    one client doing set/get round trips for that
                                           long; fails on any error or wrong value
"""
import socket
import sys
import time

from pymemcache.client.base import Client


def steady(host, port, seconds):
    c = Client((host, port), connect_timeout=5, timeout=5)
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        key = "steady%d" % (n % 50)
        val = b"v%d" % n
        c.set(key, val, noreply=False)
        if c.get(key) != val:
            print("steady: wrong value after %d round trips" % n)
            return 1
        n += 1
    print("steady: %d round trips, no error" % n)
    return 0


def nonreader(host, port, megabytes, hold):
    c = Client((host, port), connect_timeout=5, timeout=5)
    c.set("nr", b"x" * 1000)
    s = socket.create_connection((host, port))
    s.setblocking(False)
    chunk = b"get nr\r\n" * 8192
    sent, target, end = 0, megabytes << 20, time.time() + 10
    while sent < target and time.time() < end:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
    # The server must still serve others while this peer sits on its replies.
    ok = c.get("nr") == b"x" * 1000
    print("nonreader: %d bytes of gets sent before the window closed; other client %s"
          % (sent, "served" if ok else "NOT served"), flush=True)
    time.sleep(hold)
    s.close()
    return 0 if ok else 1


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "nonreader":
        return nonreader(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    if len(sys.argv) == 5 and sys.argv[1] == "steady":
        return steady(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
