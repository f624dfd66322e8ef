#!/usr/bin/env python3
"""Linux-TCP clients for test_tcp_echo.sh (run inside the test's namespace).

  echo --conns N --bytes B     N connections at once, each sends B random bytes
                               and must read the same bytes back; then closes.
  idle --wait S                connect, send nothing, expect the server's FIN
                               within S seconds.
  noread --bytes B --secs S    connect, send up to B bytes and never read, for
                               S seconds; prints how much the server accepted.
  refused --port P             connecting to port P must be refused (RST).
  flood --count N --src IP     N SYNs from IP (an address nobody answers for,
                               so every one stays half-open), random ports.
Exit status 0 on success; a message on stderr otherwise.
"""
import argparse
import os
import random
import socket
import struct
import sys
import threading
import time

HOST = "198.18.0.2"


def echo_one(idx, nbytes, errors, timeout):
    data = os.urandom(nbytes)
    try:
        s = socket.create_connection((HOST, 11211), timeout=timeout)
        got = bytearray()

        def sender():
            try:
                view = memoryview(data)
                while view:
                    n = s.send(view[:65536])
                    view = view[n:]
            except OSError as e:
                errors.append("conn %d send: %s" % (idx, e))

        t = threading.Thread(target=sender)
        t.start()
        while len(got) < nbytes:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        t.join()
        s.shutdown(socket.SHUT_WR)
        rest = s.recv(1)  # the server closes after our FIN
        s.close()
        if bytes(got) != data:
            first = next((i for i in range(min(len(got), nbytes)) if got[i] != data[i]), None)
            errors.append("conn %d: got %d of %d bytes, first difference at %s"
                          % (idx, len(got), nbytes, first))
        elif rest:
            errors.append("conn %d: data after the echo" % idx)
    except OSError as e:
        errors.append("conn %d: %s" % (idx, e))


def cmd_echo(a):
    errors = []
    threads = [threading.Thread(target=echo_one, args=(i, a.bytes, errors, a.timeout))
               for i in range(a.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.stderr.write("\n".join(errors[:10]) + "\n")
        return 1
    return 0


def cmd_idle(a):
    s = socket.create_connection((HOST, 11211), timeout=a.wait)
    start = time.time()
    try:
        if s.recv(1) != b"":
            sys.stderr.write("unexpected data\n")
            return 1
    except socket.timeout:
        sys.stderr.write("no FIN within %s s\n" % a.wait)
        return 1
    print("closed after %.1f s" % (time.time() - start))
    return 0


def cmd_noread(a):
    s = socket.create_connection((HOST, 11211), timeout=5)
    s.setblocking(False)
    sent, end = 0, time.time() + a.secs
    block = b"get key\r\n" * 1000
    while sent < a.bytes and time.time() < end:
        try:
            sent += s.send(block)
        except BlockingIOError:
            time.sleep(0.05)
    print(sent)
    s.close()
    return 0


def cmd_refused(a):
    try:
        socket.create_connection((HOST, a.port), timeout=3)
    except ConnectionRefusedError:
        return 0
    except OSError as e:
        sys.stderr.write("not refused: %s\n" % e)
        return 1
    sys.stderr.write("connected\n")
    return 1


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def cmd_flood(a):
    src, dst = socket.inet_aton(a.src), socket.inet_aton(HOST)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(a.count):
        sport = 1024 + random.randrange(60000)
        seq = random.getrandbits(32)
        tcp = struct.pack("!HHIIBBHHH", sport, 11211, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64,
                         socket.IPPROTO_TCP, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        s.sendto(ip + tcp, (HOST, 0))
        if a.pace and i % 100 == 99:
            time.sleep(a.pace)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("--conns", type=int, default=1)
    e.add_argument("--bytes", type=int, default=1 << 20)
    e.add_argument("--timeout", type=float, default=60)
    i = sub.add_parser("idle")
    i.add_argument("--wait", type=float, default=10)
    n = sub.add_parser("noread")
    n.add_argument("--bytes", type=int, default=10 << 20)
    n.add_argument("--secs", type=float, default=3)
    r = sub.add_parser("refused")
    r.add_argument("--port", type=int, default=80)
    f = sub.add_parser("flood")
    f.add_argument("--count", type=int, default=2000)
    f.add_argument("--src", default="198.18.0.77")
    f.add_argument("--pace", type=float, default=0.01)
    a = p.parse_args()
    return {"echo": cmd_echo, "idle": cmd_idle, "noread": cmd_noread,
            "refused": cmd_refused, "flood": cmd_flood}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
