#!/usr/bin/env python3
"""memcache-over-UDP and admin-socket helpers for the integration tests (stdlib only).

  udp_client.py load SOCKET             set the test items through dpcached's admin
                                        socket (`memcache` mode)
  udp_client.py check HOST PORT         get every test item over UDP, one by one and in
                                        multigets; compare byte for byte
  udp_client.py get HOST PORT KEY...    print the raw UDP reply of one get
  udp_client.py frame HOST PORT HEX     send a raw datagram (frame header included),
                                        print whether a reply came

Test items: key "v<size>" holds a value of <size> bytes whose content is derived
from the size, for sizes from 0 B to 1 MB; flags are the size modulo 2^32.
"""
import socket
import struct
import sys

SIZES = [0, 1, 2, 100, 1399, 1400, 1401, 1386, 2800, 2801, 10000, 65536, 100000,
         500000, 1024 * 1024 - 512]


def value(size):
    pattern = bytes((i * 31 + size) & 0xFF for i in range(251))
    return (pattern * (size // 251 + 1))[:size]


def admin_session(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"memcache\r\n")
    assert recv_until(s, b"OK\r\n") == b"OK\r\n"
    return s


def recv_until(s, end, buf=b""):
    while not buf.endswith(end):
        chunk = s.recv(1 << 20)
        if not chunk:
            raise SystemExit(f"connection closed after {buf[-80:]!r}")
        buf += chunk
    return buf


def load(path):
    s = admin_session(path)
    for size in SIZES:
        v = value(size)
        s.sendall(b"set v%d %d 0 %d\r\n" % (size, size, len(v)) + v + b"\r\n")
        reply = recv_until(s, b"\r\n")
        if reply != b"STORED\r\n":
            raise SystemExit(f"set v{size}: {reply!r}")
    s.close()
    print(f"loaded {len(SIZES)} items")


def udp_socket(host, port):
    """A UDP socket whose receive buffer holds a whole 1 MB reply (~750 datagrams)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE (root)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    sock.connect((host, int(port)))
    return sock


def udp_request(sock, rid, payload, timeout=3.0):
    """Send one request datagram; reassemble the reply from its frame headers."""
    sock.settimeout(timeout)
    sock.send(struct.pack("!HHHH", rid, 0, 1, 0) + payload)
    parts, total = {}, None
    while total is None or len(parts) < total:
        d = sock.recv(65535)
        r, seq, count, reserved = struct.unpack("!HHHH", d[:8])
        if r != rid:
            continue  # a late reply to an earlier request
        if reserved != 0 or (total is not None and count != total) or seq >= count:
            raise SystemExit(f"bad frame header: id {r} seq {seq} count {count}")
        if seq in parts:
            raise SystemExit(f"duplicate datagram {seq}")
        if seq + 1 < count and len(d) - 8 != 1400:
            raise SystemExit(f"datagram {seq} of {count} carries {len(d) - 8} bytes, not 1400")
        total = count
        parts[seq] = d[8:]
    return b"".join(parts[i] for i in range(total))


def expect_values(reply, sizes):
    want = b"".join(b"VALUE v%d %d %d\r\n" % (n, n, n) + value(n) + b"\r\n" for n in sizes)
    return reply == want + b"END\r\n"


def check(host, port):
    sock = udp_socket(host, port)
    failures = 0
    rid = 100
    for size in SIZES:
        rid += 1
        reply = udp_request(sock, rid, b"get v%d\r\n" % size)
        if not expect_values(reply, [size]):
            print(f"get v{size}: reply of {len(reply)} bytes differs")
            failures += 1
    groups = [SIZES[:6], SIZES[6:11], [1, 100000, 2], [3333333, 1400], SIZES[:2] * 3]
    for g in groups:
        rid += 1
        reply = udp_request(sock, rid, b"get " + b" ".join(b"v%d" % n for n in g) + b"\r\n")
        if not expect_values(reply, [n for n in g if n in SIZES]):
            print(f"multiget {g}: reply of {len(reply)} bytes differs")
            failures += 1
    print(f"checked {len(SIZES)} gets and {len(groups)} multigets, {failures} failed")
    return 1 if failures else 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "load" and len(sys.argv) == 3:
        load(sys.argv[2])
        return 0
    if cmd == "check" and len(sys.argv) == 4:
        return check(sys.argv[2], sys.argv[3])
    if cmd == "get" and len(sys.argv) >= 5:
        sock = udp_socket(sys.argv[2], sys.argv[3])
        sys.stdout.write(repr(udp_request(sock, 7, b"get " + " ".join(sys.argv[4:]).encode()
                                          + b"\r\n")) + "\n")
        return 0
    if cmd == "frame" and len(sys.argv) == 5:
        sock = udp_socket(sys.argv[2], sys.argv[3])
        sock.settimeout(1.0)
        sock.send(bytes.fromhex(sys.argv[4]))
        try:
            print("reply", repr(sock.recv(65535)))
        except socket.timeout:
            print("no reply")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
