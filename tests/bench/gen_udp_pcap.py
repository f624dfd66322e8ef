#!/usr/bin/env python3
"""Write a pcap of memcache-over-UDP requests for dpcached's net_pcap benchmark.

  gen_udp_pcap.py OUT.pcap COUNT [--key-len 32] [--value-len 100] [--baseline]

The capture holds one `set` of the key (so the server must allow writes over
UDP) and then COUNT `get`s of it, each a single-datagram request from
198.18.0.1:40000 to 198.18.0.2:11211, Ethernet to 02:00:00:00:00:02. Stdlib only.
"""
import argparse
import socket
import struct

OUR_MAC = bytes.fromhex("020000000002")
PEER_MAC = bytes.fromhex("020000000001")
SRC, DST = "198.18.0.1", "198.18.0.2"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(rid, payload):
    body = struct.pack("!HHHH", rid, 0, 1, 0) + payload
    ulen = 8 + len(body)
    pseudo = socket.inet_aton(SRC) + socket.inet_aton(DST) + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", 40000, 11211, ulen, 0) + body
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, rid, 0, 64, 17, 0,
                     socket.inet_aton(SRC), socket.inet_aton(DST))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return OUR_MAC + PEER_MAC + b"\x08\x00" + ip + udp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("count", type=int)
    ap.add_argument("--key-len", type=int, default=32)
    ap.add_argument("--value-len", type=int, default=100)
    a = ap.parse_args()
    key = (b"k" * a.key_len)[:a.key_len]
    value = b"v" * a.value_len
    packets = [frame(0, b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))]
    packets += [frame((i + 1) & 0xFFFF, b"get %s\r\n" % key) for i in range(a.count)]
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(packets):
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(p), len(p)) + p)


if __name__ == "__main__":
    main()
