#!/usr/bin/env python3
"""Random sessions for proto_diff: pipelines of 1-4 requests over a few keys,
every storage mode, gets, arithmetic on numeric and non-numeric values, meta
flags (leases included), noreply/q. Usage:

    tests/integration/proto_session_gen.py SEED UNITS > /tmp/s.txt
    tests/integration/test_proto_diff.sh build/tests/integration/proto_diff /tmp/s.txt

Any "not ok" is a difference from stock memcached (docs/PROTOCOL.md).

Two things are kept out because they are not the protocol's: TTLs short
enough to expire during a session (the two servers' clocks tick at different
instants), and an incr/decr/ma after a retrieval of the same key in the same
unit (memcached pads a shortened number in place only when no reply of the
same read still holds the item, which protocol.txt leaves open): such a
request starts a new unit.
"""
import random
import sys

random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
KEYS = ["a", "b", "c", "foo", "n1", "n2", "YWJj", "abc", "k" * 250]  # YWJj: base64 of abc
# No '-' in any value, and few numbers of 2^63 or more: for those memcached
# looks for a '-' with strchr from the value on, past its end into the slab
# chunk's stale bytes.
VALS = ["x", "hello", "10", "0", "18446744073709551615", " 5", "abc\\r\\nd", "",
        " 12 ab", "007"]


def key():
    return random.choice(KEYS)


def val():
    if random.random() < 0.03:  # long: 3000 digits, or a value memcached chunks
        n, c = random.choice([(3000, "7"), (20, "9"), (600000, "0")])
        return f"$FILL({n},{c})", n
    v = random.choice(VALS)
    return v, len(v.replace("\\r", "\r").replace("\\n", "\n"))


def num():
    return random.choice(["0", "1", "5", "100", "-1", "x", "18446744073709551615",
                          "18446744073709551614", "9223372036854775808"])


def ttl():
    # never one that runs out during a session; 2592001 is a unix time long past
    return random.choice(["0", "100", "-1", "x", "2592001", "18446744073709551615"])


def storage():
    v, n = val()
    cmd = random.choice(["set", "add", "replace", "append", "prepend", "cas"])
    k = key()
    cas = f" $CAS({k})" if cmd == "cas" else ""
    nr = " noreply" if random.random() < 0.15 else ""
    flags = random.choice(["0", "3", "4294967295"])
    exp = random.choice(["0", "100", "-1", "2592001"])
    return f"{cmd} {k} {flags} {exp} {n}{cas}{nr}\\r\\n{v}\\r\\n"


def meta_set():
    v, n = val()
    k = key()
    fl = random.sample(["c", "k", "q", "O2", "T0", "F5", "MA", "MP", "ME", "MR", "MS",
                        f"C$CAS({k})", "I", "b", "T100", "N30", "F4294967295", "C0", "T-1"],
                       random.randint(0, 4))
    if sum(1 for f in fl if f.startswith("M")) > 1:
        fl = [f for f in fl if not f.startswith("M")]
    return f"ms {k} {n} " + " ".join(fl) + f"\\r\\n{v}\\r\\n"


def request():
    c = random.random()
    if c < 0.25:
        return storage()
    if c < 0.4:
        cmd = random.choice(["get", "gets", "gat 100", "gats 0", "gat -1", "gats 2592001",
                             "gat 0"])
        return cmd + " " + " ".join(key() for _ in range(random.randint(1, 4))) + "\\r\\n"
    if c < 0.5:
        nr = random.choice(["", "", " noreply"])
        return random.choice(["incr", "decr"]) + f" {key()} {num()}{nr}\\r\\n"
    if c < 0.55:
        return f"delete {key()}" + random.choice(["", "", " noreply", " 0"]) + "\\r\\n"
    if c < 0.6:
        nr = " noreply" if random.random() < 0.2 else ""
        return f"touch {key()} {ttl()}{nr}\\r\\n"
    if c < 0.75:
        fl = random.sample(["v", "k", "c", "f", "s", "t", "q", "O1", "N30", "T50", "h", "l", "u",
                            "b", "R10", "T0", "N0", "R200", "T-1", "N-1"], random.randint(0, 5))
        return f"mg {key()} " + " ".join(fl) + "\\r\\n"
    if c < 0.85:
        return meta_set()
    if c < 0.92:
        k = key()
        fl = random.sample(["q", "k", "O3", "I", "T30", f"C$CAS({k})", "b", "C0", "T-1"],
                           random.randint(0, 3))
        return f"md {k} " + " ".join(fl) + "\\r\\n"
    if c < 0.95:
        return random.choice([f"me {key()}", f"me {key()} b", "mn", "version", "verbosity 1",
                              "flush_all", "flush_all noreply", f"bget {key()} {key()}"]) + "\\r\\n"
    k = key()
    fl = random.sample(["v", "q", "k", "t", "c", "N0", "J7", "D3", "MD", "M+", "b", "T30", "N30",
                        f"C$CAS({k})", "O5", "MI", "M-", "D18446744073709551615", "T-1", "N-1"],
                       random.randint(0, 4))
    if sum(1 for f in fl if f.startswith("M")) > 1:
        fl = [f for f in fl if not f.startswith("M")]
    if sum(1 for f in fl if f.startswith("N")) > 1 or sum(1 for f in fl if f.startswith("D")) > 1:
        fl = [f for f in fl if not f.startswith(("N", "D"))]
    return f"ma {k} " + " ".join(fl) + "\\r\\n"


def item_key(tokens, i):
    """The key a request names at tokens[i], decoded if it carries b."""
    k = tokens[i] if i < len(tokens) else ""
    return "abc" if k == "YWJj" and "b" in tokens[i + 1:] else k


def retrieved(req):
    """Keys whose items a reply of this request holds in memcached."""
    t = req.split("\\r\\n")[0].split()
    if t[0] in ("get", "gets", "bget"):
        return set(t[1:])
    if t[0] in ("gat", "gats"):
        return set(t[2:])
    if t[0] == "mg":
        return {item_key(t, 1)}
    return set()


def arith_key(req):
    t = req.split("\\r\\n")[0].split()
    return item_key(t, 1) if t[0] in ("incr", "decr", "ma") else None


print("flush_all\\r\\n")
for _ in range(N):
    unit, held = [], set()
    for _ in range(random.randint(1, 4)):
        r = request()
        if unit and arith_key(r) in held:
            print("".join(unit))
            unit, held = [], set()
        unit.append(r)
        held |= retrieved(r)
    print("".join(unit))
