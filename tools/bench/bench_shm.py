# SPDX-License-Identifier: GPL-2.0-or-later
"""Micro-benchmark of kampy.shm.Table: µs per operation, with 1 and 2 processes.

Each case runs a loop of one kind of operation over a preloaded table (small
values ~200 B packed, large ~2 KB) and reports wall µs per operation: with one
process, the best of a few rounds; with two forked processes running the same
loop at the same time (on different keys), the mean of both.  The two-process
figure shows what lock contention costs on top.

Run: python -m tools.bench.bench_shm [--n 3000] [--rounds 3] [--only put_small,...]
(prints; asserts nothing)
"""

import argparse
import os
import sys
import time

from kampy.shm import Arena, Table

KEYS = 2000


def small_value(i):
    return {"aor": "sip:user%d@example.com" % i,
            "contact": "sip:user%d@192.0.2.%d:5060" % (i, i % 250),
            "expires": 3600 + i, "cseq": i, "callid": "c%08d@host.example.net" % i,
            "ua": "Grandstream GXP2170 1.0.11.23", "flags": 0, "path": ["sip:edge.example.com;lr"],
            "state": "registered", "pad": "x" * 40}


def large_value(i):
    v = small_value(i)
    v["pad"] = "y" * 1830
    return v


def _bump(v):
    v["cseq"] += 1
    return v


def make_table(arena):
    return Table(arena, "bench", 4096, 64, 48 << 20, header_fields=("state",))


def preload(t, tag):
    for i in range(KEYS):
        t.put("s-%s-%d" % (tag, i), small_value(i))
        t.put("l-%s-%d" % (tag, i), large_value(i))


def case_ops(t, tag):
    ks = ["s-%s-%d" % (tag, i) for i in range(KEYS)]
    kl = ["l-%s-%d" % (tag, i) for i in range(KEYS)]
    vs = [small_value(i) for i in range(KEYS)]
    vl = [large_value(i) for i in range(KEYS)]
    kn = ["n-%s-%d" % (tag, i) for i in range(KEYS)]

    def get_small(n):
        g = t.get
        for i in range(n):
            g(ks[i % KEYS])

    def get_large(n):
        g = t.get
        for i in range(n):
            g(kl[i % KEYS])

    def put_small(n):
        p = t.put
        for i in range(n):
            p(ks[i % KEYS], vs[i % KEYS])

    def put_large(n):
        p = t.put
        for i in range(n):
            p(kl[i % KEYS], vl[i % KEYS])

    def update_small(n):
        u = t.update
        for i in range(n):
            u(ks[i % KEYS], _bump)

    def update_large(n):
        u = t.update
        for i in range(n):
            u(kl[i % KEYS], _bump)

    def insert_delete(n):
        ins, dele = t.insert, t.delete
        for i in range(n):
            k = kn[i % KEYS]
            ins(k, vs[i % KEYS])
            dele(k)

    def header(n):
        h = t.header
        for i in range(n):
            h(ks[i % KEYS])

    return {f.__name__: f for f in (get_small, get_large, put_small, put_large, update_small,
                                     update_large, insert_delete, header)}


def run_one(t, name, n, rounds, tag):
    fn = case_ops(t, tag)[name]
    fn(min(n, 200))
    best = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(n)
        dt = (time.perf_counter() - t0) / n * 1e6
        best = dt if best is None else min(best, dt)
    return best


def run_two(t, name, n, tags):
    """Both children start together (a pipe barrier) and each reports its µs/op."""
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    pids = []
    for tag in tags:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fn = case_ops(t, tag)[name]
                fn(min(n, 200))
                os.read(go_r, 1)
                t0 = time.perf_counter()
                fn(n)
                dt = (time.perf_counter() - t0) / n * 1e6
                os.write(res_w, ("%.3f\n" % dt).encode())
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    time.sleep(0.05)
    os.write(go_w, b"x" * len(tags))
    for pid in pids:
        os.waitpid(pid, 0)
    os.close(res_w)
    out = b""
    while True:
        chunk = os.read(res_r, 4096)
        if not chunk:
            break
        out += chunk
    for fd in (go_r, go_w, res_r):
        os.close(fd)
    vals = [float(x) for x in out.split()]
    return sum(vals) / len(vals) if len(vals) == len(tags) else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="operations per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--procs", default="1,2", help="1, 2 or 1,2")
    a = ap.parse_args(argv)
    procs = [int(p) for p in a.procs.split(",")]
    with Arena(128 << 20) as arena:
        t = make_table(arena)
        for tag in ("a", "b"):
            preload(t, tag)
        names = list(case_ops(t, "a"))
        if a.only:
            names = [x for x in names if x in a.only.split(",")]
        print("%-14s %10s %10s" % ("case", "1 proc", "2 procs"))
        for name in names:
            one = run_one(t, name, a.n, a.rounds, "a") if 1 in procs else float("nan")
            two = run_two(t, name, a.n, ("a", "b")) if 2 in procs else float("nan")
            print("%-14s %8.2f us %8.2f us" % (name, one, two))
            sys.stdout.flush()
        problems = t.verify()
        if problems:
            print("TABLE DAMAGED:", problems[:5])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
