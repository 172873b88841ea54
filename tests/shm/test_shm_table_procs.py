# SPDX-License-Identifier: GPL-2.0-or-later
"""Table shared by forked processes: exact totals, no leaks, and crashes mid-write."""

import os
import signal
import time

import pytest

from kampy.shm import LockTimeout, Table

WRITERS = 4


def _held(t):
    """mem_stats without the high-water mark (pages ever touched only grows)."""
    st = t.mem_stats()
    del st["touched_bytes"]
    return st


def test_concurrent_increments_are_exact(arena, children):
    t = Table(arena, "cnt", 8, 4, 1 << 20)
    keys = ["a", "b", "c", b"d", "e"]
    rounds = 1000

    def writer(w):
        for i in range(rounds):
            for k in keys[:2] if i % 2 else keys:
                t.update(k, lambda v: {"n": v["n"] + 1, "last": w} if v else {"n": 1, "last": w})

    for w in range(WRITERS):
        children.fork(writer, w)
    assert children.wait_all() == [0] * WRITERS
    assert {k: t.get(k)["n"] for k in keys} == {
        "a": WRITERS * rounds, "b": WRITERS * rounds,
        "c": WRITERS * rounds // 2, b"d": WRITERS * rounds // 2, "e": WRITERS * rounds // 2}
    assert len(t) == 5 and t.verify() == []


def test_concurrent_inserts_and_deletes_leak_nothing(arena, children):
    t = Table(arena, "churn", 64, 8, 4 << 20)
    start = _held(t)
    per = 800

    def writer(w):
        for i in range(per):
            assert t.insert("w%d-%d" % (w, i), "v" * (i % 700))
            if i % 3 == 0:
                assert t.delete("w%d-%d" % (w, i // 2))
        for i in range(0, per, 5):
            t.put("w%d-%d" % (w, i), [w, i])

    for w in range(WRITERS):
        children.fork(writer, w)
    assert children.wait_all() == [0] * WRITERS
    deleted = {i // 2 for i in range(0, per, 3)}
    want = {"w%d-%d" % (w, i) for w in range(WRITERS) for i in range(per)
            if i not in deleted or i % 5 == 0}
    assert set(t.keys()) == want and len(t) == len(want)
    assert t.get("w2-10") == [2, 10]
    assert t.verify() == []

    def cleaner(w):
        for k in t.keys():
            if k.startswith("w%d-" % w):
                t.delete(k)

    for w in range(WRITERS):
        children.fork(cleaner, w)
    assert children.wait_all() == [0] * WRITERS
    assert len(t) == 0 and t.verify() == []
    st = t.mem_stats()
    assert st["used_bytes"] == st["spare_bytes"] > 0          # only spares are left
    t.trim()
    assert _held(t) == start and t.verify() == []


def test_dead_lock_holder_is_recovered_and_others_carry_on(arena, children):
    t = Table(arena, "dead", 16, 4, 1 << 20, lock_timeout=10)
    t.put("k", 1)
    stripe = t.bucket_of("k") % 4

    def holder():
        t.locks.acquire(stripe)
        os._exit(0)                                   # dies holding the bucket lock

    dead = children.fork(holder)
    assert children.wait(dead) == 0
    assert t.locks.owner(stripe) == dead

    def bumper():
        assert t.update("k", lambda v: v + 1) == 2   # blocks until recover

    b = children.fork(bumper)
    assert arena.recover(dead) == 1
    assert children.wait(b) == 0
    assert t.get("k") == 2 and t.verify() == []


def test_lock_timeout_when_nobody_recovers(arena, children):
    t = Table(arena, "stuck", 4, 1, 1 << 20, lock_timeout=0.05)
    t.put("x", 1)
    dead = children.fork(lambda: t.locks.acquire(0))          # the only bucket lock
    children.wait(dead)
    with pytest.raises(LockTimeout, match="held by pid %d" % dead):
        t.get("x")
    arena.recover(dead)
    dead = children.fork(lambda: t.locks.acquire(1))          # the allocator lock
    children.wait(dead)
    with pytest.raises(LockTimeout):
        t.put("y", 2)
    assert t.get("x") == 1                                    # bucket lock was let go
    arena.recover(dead)
    assert t.put("y", 2) and t.verify() == []


def _crash_in(t, stage, how):
    def hook(s):
        if s == stage:
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(7)
    t._test_hook = hook


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_crash_before_pointer_switch_leaves_old_version(arena, children, how):
    t = Table(arena, "crash", 8, 2, 1 << 20)
    old = {"version": 1, "pad": "o" * 300}
    t.put("rec", old)
    t.put("other", 5)
    before = _held(t)

    def writer():
        _crash_in(t, "written", how)
        t.put("rec", {"version": 2, "pad": "n" * 5000})

    pid = children.fork(writer)
    assert children.wait(pid) == (7 if how == "exit" else -signal.SIGKILL)
    assert arena.recover(pid) == 2                   # bucket lock + allocator lock
    assert t.get("rec") == old
    assert t.verify() == [] and _held(t) == before
    assert t.put("rec", {"version": 3}) and t.get("rec") == {"version": 3}
    assert t.get("other") == 5


def test_crash_after_commit_is_completed_by_recover(arena, children):
    t = Table(arena, "crash2", 8, 2, 1 << 20)
    t.put("rec", {"version": 1})

    def writer():
        _crash_in(t, "committed", "kill")
        t.put("rec", {"version": 2, "pad": "n" * 5000})

    pid = children.fork(writer)
    assert children.wait(pid) == -signal.SIGKILL
    assert t._slab.pending() > 0                     # the journal holds the update
    assert arena.recover(pid) == 2
    assert t._slab.pending() == 0
    assert t.get("rec") == {"version": 2, "pad": "n" * 5000}
    assert t.verify() == []


def test_crash_mid_delete_and_insert_never_leaks(arena, children):
    t = Table(arena, "crash3", 8, 2, 1 << 20)
    for i in range(20):
        t.put("k%d" % i, "v" * 2000)            # 20 of the 28 blocks of a page: dense
    # (stage, op, records after, locks held: a delete that keeps its block as
    # the stripe's spare -- its page is full enough -- needs only the bucket lock)
    cases = [("written", lambda: t.insert("new", "x" * 2000), 20, 2),
             ("committed", lambda: t.delete("k3"), 19, 1),
             ("committed", lambda: t.insert("new", "x" * 2000), 20, 2)]
    for stage, op, n, locks in cases:
        def child(op=op, stage=stage):
            _crash_in(t, stage, "exit")
            op()

        pid = children.fork(child)
        assert children.wait(pid) == 7
        assert arena.recover(pid) == locks
        assert t.verify() == [] and len(t) == n
    assert "k3" not in t and t.get("new") == "x" * 2000


def _spare_ready(t, key, value):
    """Put key twice so that its stripe keeps a spare of the value's class."""
    t.put(key, value)
    t.put(key, value)
    assert t.mem_stats()["spare_bytes"] > 0


@pytest.mark.parametrize("stage,how", [("written", "kill"), ("committed", "kill"),
                                       ("written", "exit"), ("committed", "exit")])
def test_crash_in_a_spare_swap_leaves_old_or_new(arena, children, stage, how):
    """The fast path (a stripe spare takes the new version) is as crash-safe as the slow one."""
    t = Table(arena, "spare", 8, 2, 1 << 20)
    old = {"version": 1, "pad": "o" * 300}
    _spare_ready(t, "rec", old)
    t.put("other", 5)
    before = _held(t)
    assert before["spare_bytes"] > 0

    def writer():
        _crash_in(t, stage, how)
        t.put("rec", {"version": 2, "pad": "n" * 301})      # same class: spare swap

    pid = children.fork(writer)
    assert children.wait(pid) == (7 if how == "exit" else -signal.SIGKILL)
    if stage == "committed":
        assert t._stripe_pending(t.lock_index("rec"))
    assert arena.recover(pid) == 1                          # the bucket lock alone
    want = old if stage == "written" else {"version": 2, "pad": "n" * 301}
    assert t.get("rec") == want
    assert t.verify() == [] and _held(t) == before
    assert t.get("other") == 5 and len(t) == 2


def test_stripe_journal_replayed_by_next_locker_without_recover_hook(arena, children):
    t = Table(arena, "spare2", 8, 2, 1 << 20)
    _spare_ready(t, "rec", 1)

    def writer():
        _crash_in(t, "committed", "exit")
        t.put("rec", 2)

    pid = children.fork(writer)
    children.wait(pid)
    assert t.locks.held_by(pid) == [t.lock_index("rec")]
    for i in t.locks.held_by(pid):                   # a bare release, no hook
        t.locks.release(i)
    assert t.get("rec") == 2 and t.verify() == []   # the next locker replays


def test_heap_full_takes_back_spares_of_other_stripes(arena):
    from kampy.shm.slab import PAGE
    t = Table(arena, "tight", 64, 8, 8 * PAGE)      # one page of 128 B blocks, seven left
    keys = ["k%d" % i for i in range(400)]
    for k in keys:                                  # 128 B blocks: a spare in each stripe
        t.put(k, "a" * 60)
        t.put(k, "b" * 60)
    for k in keys:
        t.delete(k)
    st = t.mem_stats()
    assert st["spare_bytes"] > 0 and st["free_pages"] < 8
    n = 0
    while t.insert("big%d" % n, b"x" * 30000):      # 32 KiB blocks: needs whole pages
        n += 1
    assert n == 16 and t.mem_stats()["spare_bytes"] == 0
    assert t.verify() == []


def test_journal_replayed_by_next_writer_without_recover_hook(arena, children):
    t = Table(arena, "crash4", 8, 2, 1 << 20)
    t.put("rec", 1)

    def writer():
        _crash_in(t, "committed", "exit")
        t.put("rec", 2)

    pid = children.fork(writer)
    children.wait(pid)
    for i in t.locks.held_by(pid):                   # a bare release, no hook
        t.locks.release(i)
    assert t.put("x", 0)                             # the next allocator user replays
    assert t.get("rec") == 2 and t.verify() == []


def _value(n):
    return {"n": n, "pad": "p" * (n * 37 % 3000)}


def _check(v):
    assert v["pad"] == "p" * (v["n"] * 37 % 3000), "garbage record"


def test_readers_never_see_garbage_while_writers_replace(arena, children):
    t = Table(arena, "rw", 4, 2, 4 << 20)
    keys = ["k%d" % i for i in range(6)]
    for k in keys:
        t.put(k, _value(0))

    def writer(w):
        for i in range(1, 800):
            k = keys[(i + w) % len(keys)]
            if i % 50 == 0:
                t.delete(k)
            else:
                t.put(k, _value(i))

    def reader():
        for i in range(3000):
            v = t.get(keys[i % len(keys)])
            if v is not None:
                _check(v)
        for _, v in t.items():
            _check(v)

    for w in range(2):
        children.fork(writer, w)
    for _ in range(2):
        children.fork(reader)
    assert children.wait_all() == [0] * 4
    assert t.verify() == []


def test_writers_killed_at_random_points_leave_a_consistent_table(arena, children):
    """SIGKILL a busy writer wherever it happens to be, then recover: no damage."""
    from kampy.shm import Counters
    t = Table(arena, "chaos", 8, 2, 2 << 20)
    t.locks.orphan_wait = 0.05                       # a kill may land between sem and pid
    progress = Counters(arena, ["ops"], nslots=2)
    keys = ["c%d" % i for i in range(12)]

    def writer(seed):
        progress.set_slot(1)
        i = seed
        while True:
            i += 1
            k = keys[i % len(keys)]
            op = i % 7
            if op == 0:
                t.delete(k)
            elif op < 4:
                t.put(k, _value(i))
            else:
                t.update(k, lambda v: _value(v["n"] + 1) if v else _value(i))
            progress.inc_idx(0)

    for rnd in range(8):
        progress.reset("ops")
        pid = children.fork(writer, rnd * 1000)
        target = 50 + 37 * rnd
        deadline = time.monotonic() + 10
        while progress.get("ops") < target and time.monotonic() < deadline:
            time.sleep(0.0005)
        os.kill(pid, signal.SIGKILL)
        assert children.wait(pid) == -signal.SIGKILL
        arena.recover(pid)
        assert t.verify() == []
        for _, v in t.items():
            _check(v)
    assert len(t) == len(list(t.items()))
