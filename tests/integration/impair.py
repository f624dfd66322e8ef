#!/usr/bin/env python3
"""A lossy, reordering, duplicating link in user space: netem for kernels without it.

  impair.py --wire IFACE --tap NAME [--loss PCT] [--reorder PCT] [--dup PCT]
            [--hold-ms MS] [--seed N]

Run inside the test's namespace. IFACE is the kernel side of dpcached's TAP;
it must have no address, so the kernel ignores what arrives on it. impair.py
creates the TAP NAME for the kernel's clients (give it the client address once
`impair.py` prints "ready") and relays Ethernet frames both ways:

    client (kernel) <-> NAME (tap fd) <-> impair.py <-> IFACE (AF_PACKET) <-> dpcached

Each frame, each way, independently: dropped with probability LOSS; sent
twice with probability DUP; with probability REORDER held back and sent after
the next frame in the same direction (or after HOLD_MS if none comes). On
SIGTERM it prints what it did: `relayed N dropped N duplicated N reordered N`.
"""
import argparse
import fcntl
import os
import random
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class Direction:
    """One way of the link: its impairments and the frame held back, if any."""

    def __init__(self, name, send, args, rng, stats):
        self.name, self.send, self.args, self.rng, self.stats = name, send, args, rng, stats
        self.held = None
        self.held_at = 0.0

    def release_held(self):
        if self.held is not None:
            frame, self.held = self.held, None
            self.send(frame)

    def frame(self, frame):
        a, rng, st = self.args, self.rng, self.stats
        if rng.random() * 100 < a.loss:
            st["dropped"] += 1
            return
        copies = 2 if rng.random() * 100 < a.dup else 1
        st["duplicated"] += copies - 1
        if self.held is None and rng.random() * 100 < a.reorder:
            self.held, self.held_at = frame, time.monotonic()
            st["reordered"] += 1
            copies -= 1
        for _ in range(copies):
            self.send(frame)
            st["relayed"] += 1
        self.release_held()  # it goes after this one: the two swap places

    def tick(self, now):
        if self.held is not None and now - self.held_at >= self.args.hold_ms / 1000:
            self.release_held()


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--wire", required=True)
    p.add_argument("--tap", required=True)
    p.add_argument("--loss", type=float, default=0)
    p.add_argument("--reorder", type=float, default=0)
    p.add_argument("--dup", type=float, default=0)
    p.add_argument("--hold-ms", type=float, default=2)
    p.add_argument("--seed", type=int, default=None)
    a = p.parse_args()

    rng = random.Random(a.seed)
    stats = {"relayed": 0, "dropped": 0, "duplicated": 0, "reordered": 0}
    tap = open_tap(a.tap)
    wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    wire.bind((a.wire, 0))
    to_server = Direction("to dpcached", wire.send, a, rng, stats)
    to_client = Direction("to client", lambda f: os.write(tap, f), a, rng, stats)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    print("ready", flush=True)
    while not stopping:
        try:
            ready, _, _ = select.select([tap, wire], [], [], a.hold_ms / 1000)
        except InterruptedError:
            continue
        if tap in ready:
            to_server.frame(os.read(tap, 65536))
        if wire in ready:
            frame, addr = wire.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING:  # not our own frames going out
                to_client.frame(frame)
        now = time.monotonic()
        to_server.tick(now)
        to_client.tick(now)
    print(" ".join(f"{k} {v}" for k, v in stats.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
