#!/usr/bin/env python3
"""Send hand-made Ethernet frames on an interface (AF_PACKET, stdlib only).

Used from inside a test's namespace to give dpcached what no kernel socket
would send: bad checksums, fragments, IP options, truncated datagrams.

  send_frame.py --iface IF --dst-mac MAC --src IP --dst IP KIND [--count N]

KIND: udp (a get to 11211), udp-unserved-port, udp-bad-ip-checksum, udp-bad-length, ip-options, fragment, truncated-udp, gre
"""
import argparse
import socket
import struct


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, options=b"", frag=0, bad_checksum=False, total=None):
    ihl = 5 + len(options) // 4
    length = total if total is not None else ihl * 4 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, 0x1234, frag, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + options
    csum = checksum(hdr)
    if bad_checksum:
        csum ^= 0x5555
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def udp(src, dst, sport, dport, data):
    length = 8 + len(data)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, length)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo + hdr + data) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + data


def build(kind, src, dst):
    data = udp(src, dst, 40000, 11211, b"\0\x01\0\0\0\x01\0\0get k\r\n")
    if kind == "udp":
        return ipv4(src, dst, 17, data)
    if kind == "udp-unserved-port":
        return ipv4(src, dst, 17, udp(src, dst, 40000, 9, b"discard me"))
    if kind == "udp-bad-ip-checksum":
        return ipv4(src, dst, 17, data, bad_checksum=True)
    if kind == "ip-options":
        return ipv4(src, dst, 17, data, options=b"\x01\x01\x01\x00")
    if kind == "fragment":
        return ipv4(src, dst, 17, data, frag=0x2000)
    if kind == "truncated-udp":
        return ipv4(src, dst, 17, data, total=20 + len(data) + 100)
    if kind == "udp-bad-length":
        return ipv4(src, dst, 17, data[:4] + struct.pack("!H", len(data) + 9) + data[6:])
    if kind == "gre":
        return ipv4(src, dst, 47, b"\0" * 8)
    raise SystemExit(f"send_frame: unknown kind {kind}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("kind")
    a = ap.parse_args()
    with open(f"/sys/class/net/{a.iface}/address") as f:
        src_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    dst_mac = bytes.fromhex(a.dst_mac.replace(":", ""))
    frame = dst_mac + src_mac + b"\x08\x00" + build(a.kind, a.src, a.dst)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    for _ in range(a.count):
        s.send(frame)
    s.close()


if __name__ == "__main__":
    main()
