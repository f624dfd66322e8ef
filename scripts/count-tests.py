#!/usr/bin/env python3
"""Count individual tests from meson's testlog.json files.

Every suite speaks TAP, so a test program's `ok` / `not ok` lines are its tests.
A program that failed without reporting a failing test line (a crash, a
timeout) counts as one failure more. Prints one line per build and the totals as
`passed failed skipped` on the last line. A TAP `ok ... # SKIP` is a skip.
"""
import json
import re
import sys

OK = re.compile(r"^ok\b(?!.*# SKIP)")
SKIP = re.compile(r"^ok\b.*# SKIP")
NOT_OK = re.compile(r"^not ok\b")


def count(logfile):
    passed = failed = skipped = 0
    with open(logfile, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            out = entry.get("stdout") or ""
            ok = sum(1 for l in out.splitlines() if OK.match(l))
            bad = sum(1 for l in out.splitlines() if NOT_OK.match(l))
            skip = sum(1 for l in out.splitlines() if SKIP.match(l))
            good_result = entry.get("result") in ("OK", "EXPECTEDFAIL")
            if not good_result and bad == 0:
                bad = 1
            if entry.get("result") == "SKIP" and ok == bad == skip == 0:
                skip = 1
            elif ok == 0 and bad == 0 and skip == 0:
                ok = 1  # a non-TAP test that passed
            passed += ok
            failed += bad
            skipped += skip
    return passed, failed, skipped


def main():
    total_p = total_f = total_s = 0
    for logfile in sys.argv[1:]:
        p, f, s = count(logfile)
        print(f"{logfile}: {p} passed, {f} failed, {s} skipped", file=sys.stderr)
        total_p += p
        total_f += f
        total_s += s
    print(f"{total_p} {total_f} {total_s}")


if __name__ == "__main__":
    main()
