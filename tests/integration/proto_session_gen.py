#!/usr/bin/env python3
"""Random sessions for proto_diff: pipelines of 1-4 requests over a few keys,
every storage mode, gets, arithmetic on numeric and non-numeric values, meta
flags (leases included), noreply/q. Usage:

    tests/integration/proto_session_gen.py SEED UNITS > /tmp/s.txt
    tests/integration/test_proto_diff.sh build/tests/integration/proto_diff /tmp/s.txt

Any "not ok" is a difference from stock memcached; docs/PROTOCOL.md lists the
known ones (incr space padding, h after vivify/grow).
"""
import random
import sys

random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
KEYS = ["a", "b", "c", "foo", "n1", "n2", "YWJj", "k" * 250]
VALS = ["x", "hello", "10", "0", "18446744073709551615", " 5", "abc\\r\\nd", ""]


def key():
    return random.choice(KEYS)


def val():
    v = random.choice(VALS)
    return v, len(v.replace("\\r", "\r").replace("\\n", "\n"))


def num():
    return random.choice(["0", "1", "5", "100", "-1", "x", "18446744073709551615"])


def storage():
    v, n = val()
    cmd = random.choice(["set", "add", "replace", "append", "prepend", "cas"])
    k = key()
    cas = f" $CAS({k})" if cmd == "cas" else ""
    nr = " noreply" if random.random() < 0.15 else ""
    flags = random.choice(["0", "3", "4294967295"])
    exp = random.choice(["0", "100", "-1"])
    return f"{cmd} {k} {flags} {exp} {n}{cas}{nr}\\r\\n{v}\\r\\n"


def meta_set():
    v, n = val()
    k = key()
    fl = random.sample(["c", "k", "q", "O2", "T0", "F5", "MA", "MP", "ME", "MR", "MS",
                        f"C$CAS({k})", "I"], random.randint(0, 3))
    if sum(1 for f in fl if f.startswith("M")) > 1:
        fl = [f for f in fl if not f.startswith("M")]
    return f"ms {k} {n} " + " ".join(fl) + f"\\r\\n{v}\\r\\n"


def request():
    c = random.random()
    if c < 0.25:
        return storage()
    if c < 0.4:
        cmd = random.choice(["get", "gets", "gat 100", "gats 0"])
        return cmd + " " + " ".join(key() for _ in range(random.randint(1, 4))) + "\\r\\n"
    if c < 0.5:
        nr = random.choice(["", "", " noreply"])
        return random.choice(["incr", "decr"]) + f" {key()} {num()}{nr}\\r\\n"
    if c < 0.55:
        return f"delete {key()}" + random.choice(["", "", " noreply", " 0"]) + "\\r\\n"
    if c < 0.6:
        return f"touch {key()} {num()}\\r\\n"
    if c < 0.75:
        fl = random.sample(["v", "k", "c", "f", "s", "t", "q", "O1", "N30", "T50", "h", "l", "u"],
                           random.randint(0, 5))
        return f"mg {key()} " + " ".join(fl) + "\\r\\n"
    if c < 0.85:
        return meta_set()
    if c < 0.92:
        k = key()
        fl = random.sample(["q", "k", "O3", "I", "T30", f"C$CAS({k})"], random.randint(0, 3))
        return f"md {k} " + " ".join(fl) + "\\r\\n"
    fl = random.sample(["v", "q", "k", "t", "c", "N0", "J7", "D3", "MD", "M+"], random.randint(0, 4))
    if "MD" in fl and "M+" in fl:
        fl.remove("MD")
    return f"ma {key()} " + " ".join(fl) + "\\r\\n"


print("flush_all\\r\\n")
for _ in range(N):
    print("".join(request() for _ in range(random.randint(1, 4))))
