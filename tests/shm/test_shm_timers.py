# SPDX-License-Identifier: GPL-2.0-or-later
"""TimerWheel on a fake clock: order, resolution, wrap-around, the pool, forked armers."""

import logging
import random
import time

import pytest

from kampy.shm import TimerWheel


class Clock:
    def __init__(self, ms=0):
        self.ms = ms

    def __call__(self):
        return self.ms


def wheel(arena, clock, **kw):
    kw.setdefault("slots", 64)
    kw.setdefault("capacity", 1000)
    return TimerWheel(arena, clock=clock, **kw)


def test_order_and_resolution(arena):
    c = Clock(1000)
    w = wheel(arena, c, resolution_ms=10)
    w.arm(50, 1, "fifty", 5)
    w.arm(15, 2, b"fifteen")
    w.arm(30, 3, "thirty", 7)
    w.arm(0, 4, "now")
    assert len(w) == 4
    assert w.due(1000) == []                        # never early, even at delay 0
    assert w.due(1010) == [(4, "now", 0)]
    assert w.due(1019) == []                        # 1015 rounds up to the 1020 tick
    assert w.due(1020) == [(2, b"fifteen", 0)]
    assert w.due(1100) == [(3, "thirty", 7), (1, "fifty", 5)]
    assert len(w) == 0 and w.due(5000) == []


def test_many_timers_in_one_slot(arena):
    c = Clock()
    w = wheel(arena, c, capacity=3000)
    for i in range(2500):
        assert w.arm(100, i % 7, b"k%d" % i, i)
    assert w.due(90) == []
    fired = w.due(100)
    assert sorted(g for _, _, g in fired) == list(range(2500))
    assert len(w) == 0


def test_wrap_around_and_long_delays_fire_once_on_time(arena):
    c = Clock(123)
    w = wheel(arena, c, slots=8, overflow_slots=4, resolution_ms=10, capacity=2000)
    rnd = random.Random(7)
    expiry = {}
    for i in range(1500):
        # one level-1 turn is 80 ms, the whole two levels 320 ms: go well past both
        delay = rnd.choice([rnd.randrange(0, 80), rnd.randrange(80, 320), rnd.randrange(320, 3000)])
        assert w.arm(delay, 0, b"%d" % i, i)
        expiry[i] = 123 + delay
    fired_at = {}
    now = 123
    while len(w):
        now += rnd.choice([1, 3, 10, 10, 10, 25, 70])
        for _, key, gen in w.due(now):
            assert gen not in fired_at
            fired_at[gen] = now
            assert int(key) == gen
    assert fired_at.keys() == expiry.keys()
    for gen, t in fired_at.items():
        assert expiry[gen] <= t, "early"
        assert t - expiry[gen] < 10 + 70, "late"


def test_late_due_call_pops_everything_owed(arena):
    c = Clock()
    w = wheel(arena, c, slots=16, overflow_slots=4)
    for d in (5, 500, 5000, 50000):
        w.arm(d, 0, b"x", d)
    assert [g for _, _, g in w.due(6000)] == [5, 500, 5000]
    assert [g for _, _, g in w.due(10 ** 6)] == [50000]


def test_arming_in_the_past_of_the_wheel_fires_next(arena):
    c = Clock(0)
    w = wheel(arena, c)
    w.due(10000)                                     # the wheel is at t=10 s
    w.arm(20, 1, b"old")                             # an armer with a lagging clock
    assert w.due(10010) == [(1, b"old", 0)]


def test_pool_exhaustion_and_reuse(arena, caplog):
    c = Clock()
    w = wheel(arena, c, capacity=10)
    caplog.set_level(logging.ERROR, logger="kampy.shm")
    assert all(w.arm(10 * i, 0, b"k", i) for i in range(10))
    assert not w.arm(5, 0, b"k", 99)
    assert w.errors_full == 1 and "full" in caplog.text
    assert len(w.due(35)) == 4                      # delays 0, 10, 20, 30
    assert all(w.arm(1, 1, b"again", i) for i in range(4))
    assert not w.arm(1, 1, b"again", 4)
    assert len(w.due(1000)) == 10 and len(w) == 0
    with pytest.raises(ValueError):
        w.arm(1, 0, b"k" * 65)


def test_forked_children_arm_while_the_parent_pops(arena, children):
    c = Clock(0)
    w = wheel(arena, c, slots=32, overflow_slots=4, capacity=8000)
    per = 1500

    def armer(n):
        rnd = random.Random(n)
        for i in range(per):
            assert w.arm(rnd.randrange(0, 2000), n, b"c%d" % n, i)

    running = [children.fork(armer, n) for n in range(3)]
    seen = set()
    deadline = time.monotonic() + 15
    now = 0
    while running and time.monotonic() < deadline:
        now += 10
        for kind, key, gen in w.due(now):
            assert key == b"c%d" % kind and (kind, gen) not in seen
            seen.add((kind, gen))
        for pid in list(running):
            code = children.poll(pid)
            if code is not None:
                assert code == 0
                running.remove(pid)
    assert not running, "armers did not finish"
    for kind, key, gen in w.due(now + 10 ** 6):
        assert (kind, gen) not in seen
        seen.add((kind, gen))
    assert len(seen) == 3 * per and len(w) == 0


def test_measure_arm_and_due_cost(arena, capsys):
    """Figures for the report (printed, not asserted)."""
    c = Clock(0)
    w = TimerWheel(arena, slots=4096, resolution_ms=10, capacity=60000, clock=c)
    rnd = random.Random(1)
    delays = [rnd.randrange(0, 120000) for _ in range(50000)]
    t0 = time.perf_counter()
    for i, d in enumerate(delays):
        w.arm(d, 1, b"branch-%d" % i, i)
    arm_s = time.perf_counter() - t0
    windows = []
    popped = 0
    for win in range(12):
        cpu0 = time.process_time()
        for _ in range(1000):                        # due() every 10 ms for 10 s
            c.ms += 10
            popped += len(w.due(c.ms))
        windows.append(time.process_time() - cpu0)
    with capsys.disabled():
        print("\n[shm timers] arm 50000: %.3f s (%.1f us each); due() every 10 ms, "
              "50000 timers over 120 s: first 10 s %.3f s CPU, worst 10 s %.3f s CPU "
              "(incl. level-2 cascades), all 120 s %.3f s" %
              (arm_s, arm_s / 50000 * 1e6, windows[0], max(windows), sum(windows)))
    assert popped == 50000 and len(w) == 0
