# SPDX-License-Identifier: GPL-2.0-or-later
"""The timer process: fires shared millisecond timers and module jobs.

Every tick (10 ms) it pops the due entries of the shared timer wheel and
hands each to the handler registered for its kind (tm's retransmissions and
timeouts, for instance); periodic module jobs (`Timer(name, fn, interval)`)
run when their interval has passed.  A handler that raises is logged and the
loop goes on.  Every RELEASE_INTERVAL seconds it also gives the heap pages
of the shared tables that no record uses back to the kernel (Table.release_free),
so that a burst does not leave the daemon's memory at its high-water mark.
"""

import time

TICK = 0.01
RELEASE_INTERVAL = 10.0


def release_free_pages(rt):
    """Table.release_free on every shared table; returns the pages discarded."""
    n = 0
    for t in list(getattr(rt, "tables", {}).values()):
        release = getattr(t, "release_free", None)
        if release is not None:
            n += release()
    return n


class NamedTimers:
    """The shared wheel stores a small int kind; modules name their kinds."""

    def __init__(self, wheel, names):
        self.wheel = wheel
        self.ids = {n: i for i, n in enumerate(sorted(names))}
        self.names = {i: n for n, i in self.ids.items()}

    def arm(self, delay_ms, kind, key, gen=0):
        return self.wheel.arm(int(delay_ms), self.ids[kind], key, gen)

    def due(self, now_ms=None):
        names = self.names
        return [(names.get(k, k), key, gen) for k, key, gen in self.wheel.due(now_ms)]

    def __len__(self):
        return len(self.wheel)


def run_timer(rt, should_stop=lambda: False):
    handlers = rt.timer_handlers
    jobs = []
    now = time.monotonic()
    for mod in rt.modules.values():
        for t in mod.timers:
            jobs.append([now + t.interval, t])
    wheel = getattr(rt, "timers", None)
    next_release = now + RELEASE_INTERVAL
    while not should_stop():
        now = time.monotonic()
        if now >= next_release:
            next_release = now + RELEASE_INTERVAL
            try:
                release_free_pages(rt)
            except Exception as e:
                rt.log(-1, "releasing free shared-memory pages failed: %r" % (e,))
        if wheel is not None:
            for kind, key, gen in wheel.due(int(time.monotonic() * 1000)):
                fn = handlers.get(kind)
                if fn is None:
                    continue
                try:
                    fn(rt, key, gen)
                except Exception as e:
                    rt.log(-1, "timer handler %s failed: %r" % (kind, e))
        for job in jobs:
            if now >= job[0]:
                t = job[1]
                job[0] = now + t.interval
                try:
                    t.fn(rt)
                except Exception as e:
                    rt.log(-1, "timer job %s failed: %r" % (t.name, e))
        time.sleep(TICK)
