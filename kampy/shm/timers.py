# SPDX-License-Identifier: GPL-2.0-or-later
"""A shared timer wheel: any process arms, the timer process fires.

Time is cut into ticks of `resolution_ms`; an entry armed for `expiry` ms fires
at tick ceil(expiry / resolution), i.e. never early and at most one tick (plus
the caller's polling period) late.  Two levels:

- level 1, `slots` lists, one per tick of the coming turn: an entry due within
  `slots` ticks of the last processed tick goes straight to slot t % slots;
- level 2, `overflow_slots` lists, one per whole level-1 turn ("block"
  t // slots): later entries wait there, and when ``due`` reaches the first
  tick of a block it moves that block's entries down to level 1 (in chunks,
  releasing the lock in between).  An entry more than slots * overflow_slots
  ticks away (about 2.9 hours with the defaults) stays in its level-2 list and
  is looked at once per level-2 turn until its block comes.

So ``arm`` is O(1) under the lock, and ``due`` costs one step per tick passed,
one per entry popped and one per entry moved down (each entry moves at most
once, very long delays once per level-2 turn) -- never a walk over all armed
timers.

Cancelling is lazy: there is no cancel.  The owner of a key (a transaction, a
registration) keeps its own generation number, passes it to ``arm`` and bumps
it when it re-arms or finishes; when an entry fires, the owner compares the
entry's gen with its current one and ignores a stale entry.  Stale entries cost
a node until their time comes, so size `capacity` for every timer that can be
pending at once, stale ones included.

``due`` is called by one process only (the timer process).  It detaches the
lists it fires from the wheel under the lock and gives their nodes back after
reading them.  Every change is ordered so that a process killed at any point
leaves the lists consistent: at worst the nodes it held are lost to the pool
(an armer: one node; the timer process: the entries it was firing or moving
down, which were in its hands anyway) and ``len()`` errs high.
"""

import logging
import struct
import time

from .arena import ShmError
from .locks import LockSet, LockTimeout

__all__ = ["TimerWheel"]

log = logging.getLogger("kampy.shm")

# Layout of a TimerWheel region (little-endian):
#
#   0        8      tick          int64, last tick processed by due() (ticks <= tick fired)
#   8        8      count         int64, entries armed and not yet popped
#   16       8      free          int64, first node of the free list (-1 = none)
#   24       8      fresh         int64, nodes [fresh, capacity) were never used
#   32       8      errors_full   int64, arms refused because the pool was full
#   64       8*S1   level 1       int64 first node of slot t % S1 (-1 = empty)
#   l2       8*S2   level 2       int64 first node of block (t // S1) % S2 (-1 = empty)
#   nodes    96*capacity, 64-aligned, one per entry:
#              +0   next    int64, next node of the same list (-1 = end)
#              +8   expiry  int64, ms on the wheel's clock
#              +16  gen     int64, the owner's generation number
#              +24  kind    int32, what to do when it fires
#              +28  klen    uint8
#              +29  kstr    uint8, 1 if the key was a str
#              +30  (pad 2)
#              +32  key     64 bytes
#
# Node i is at nodes + 96*i; the free list and the slot lists link node indices.

KEY_MAX = 64
_NODE_BYTES = 96
_BATCH_TICKS = 256
_CHUNK = 256

_Q = struct.Struct("<q")
_HEAD = struct.Struct("<qqqq")
_NODE = struct.Struct("<qqqiBB2x64s")
_QQ = struct.Struct("<qq")


def _align(n, a=64):
    return (n + a - 1) & ~(a - 1)


def monotonic_ms() -> int:
    """CLOCK_MONOTONIC in ms: one clock for every process of the host."""
    return time.monotonic_ns() // 1_000_000


class TimerWheel:
    """Millisecond timers in shared memory, created before fork."""

    def __init__(self, arena, slots: int = 4096, resolution_ms: int = 10,
                 capacity: int = 100000, overflow_slots: int = 256, clock=monotonic_ms,
                 lock_timeout: float = 5.0, name: str = "timer"):
        if slots <= 0 or resolution_ms <= 0 or capacity <= 0 or overflow_slots <= 0:
            raise ShmError("timer wheel %s: slots, resolution, capacity must be positive" % name)
        self.name = name
        self.slots = slots
        self.overflow_slots = overflow_slots
        self.resolution_ms = resolution_ms
        self.capacity = capacity
        self.clock = clock
        self.lock_timeout = lock_timeout
        self._l1 = 64
        self._l2 = self._l1 + 8 * slots
        self._nodes = _align(self._l2 + 8 * overflow_slots)
        self._buf = buf = arena.region(self._nodes + _NODE_BYTES * capacity)
        self._locks = LockSet(arena, 1, name="timer wheel " + name)
        _HEAD.pack_into(buf, 0, clock() // resolution_ms, 0, -1, 0)
        struct.pack_into("<%dq" % (slots + overflow_slots), buf, self._l1,
                         *([-1] * (slots + overflow_slots)))
        self._last_log = 0.0

    @staticmethod
    def layout_bytes(slots: int = 4096, capacity: int = 100000, overflow_slots: int = 256) -> int:
        return (_align(64 + 8 * (slots + overflow_slots)) + _NODE_BYTES * capacity + 64
                + LockSet.layout_bytes(1))

    @property
    def locks(self) -> LockSet:
        return self._locks

    def _lock(self):
        if not self._locks.acquire(0, self.lock_timeout):
            raise LockTimeout("timer wheel %s: lock held by pid %d for more than %.1fs"
                              % (self.name, self._locks.owner(0), self.lock_timeout))

    def _head_for(self, t, T):
        """Offset of the list head an entry for tick t belongs to, `T` the last tick done."""
        if t <= T:
            t = T + 1
        if t - T <= self.slots:
            return self._l1 + 8 * (t % self.slots)
        return self._l2 + 8 * ((t // self.slots) % self.overflow_slots)

    def arm(self, delay_ms: int, kind: int, key, gen: int = 0) -> bool:
        """Fire (kind, key, gen) in `delay_ms` ms; False (logged, counted) when the pool is full."""
        if isinstance(key, str):
            kb, kstr = key.encode(), 1
        else:
            kb, kstr = bytes(key), 0
        if len(kb) > KEY_MAX:
            raise ValueError("timer key longer than %d bytes" % KEY_MAX)
        expiry = self.clock() + max(0, int(delay_ms))
        t = -(-expiry // self.resolution_ms)
        buf = self._buf
        self._lock()
        try:
            T, count, free, fresh = _HEAD.unpack_from(buf, 0)
            if free >= 0:
                n = free
                _Q.pack_into(buf, 16, _Q.unpack_from(buf, self._nodes + _NODE_BYTES * n)[0])
            elif fresh < self.capacity:
                n = fresh
                _Q.pack_into(buf, 24, fresh + 1)
            else:
                _Q.pack_into(buf, 32, _Q.unpack_from(buf, 32)[0] + 1)
                n = -1
            if n >= 0:
                # count first: if we die before linking, it errs high, never low
                # (a low count could let due() skip a live entry)
                _Q.pack_into(buf, 8, count + 1)
                head = self._head_for(t, T)
                _NODE.pack_into(buf, self._nodes + _NODE_BYTES * n,
                                _Q.unpack_from(buf, head)[0], expiry, gen, kind, len(kb), kstr, kb)
                _Q.pack_into(buf, head, n)
        finally:
            self._locks.release(0)
        if n < 0:
            now = time.monotonic()
            if now - self._last_log >= 1.0:
                self._last_log = now
                log.error("timer wheel %s full (%d timers): cannot arm kind=%d; %d refused so far",
                          self.name, self.capacity, kind, self.errors_full)
            return False
        return True

    def due(self, now_ms: int = None) -> list:
        """Pop every entry whose time has come: [(kind, key, gen)], in expiry order."""
        if now_ms is None:
            now_ms = self.clock()
        now_t = now_ms // self.resolution_ms
        buf = self._buf
        l1, l2, s1 = self._l1, self._l2, self.slots
        lists = []
        cascaded = None
        while True:
            moving = -1
            self._lock()
            try:
                T, count = _QQ.unpack_from(buf, 0)
                if T >= now_t:
                    break
                if count == 0:
                    _Q.pack_into(buf, 0, now_t)
                    break
                u = T + 1
                end = min(now_t, T + _BATCH_TICKS)
                while u <= end:
                    if u % s1 == 0 and cascaded != u:
                        cascaded = u
                        off = l2 + 8 * ((u // s1) % self.overflow_slots)
                        moving = _Q.unpack_from(buf, off)[0]
                        if moving >= 0:
                            _Q.pack_into(buf, off, -1)
                            break
                    off = l1 + 8 * (u % s1)
                    h = _Q.unpack_from(buf, off)[0]
                    if h >= 0:
                        lists.append(h)
                        _Q.pack_into(buf, off, -1)
                    u += 1
                _Q.pack_into(buf, 0, u - 1)
            finally:
                self._locks.release(0)
            if moving >= 0:
                self._cascade(moving)
        return self._collect(lists) if lists else []

    def _cascade(self, n):
        """Move a detached level-2 list down, a chunk per lock hold."""
        buf = self._buf
        nodes, res = self._nodes, self.resolution_ms
        while n >= 0:
            self._lock()
            try:
                T = _Q.unpack_from(buf, 0)[0]
                for _ in range(_CHUNK):
                    no = nodes + _NODE_BYTES * n
                    nxt, expiry = _QQ.unpack_from(buf, no)
                    head = self._head_for(-(-expiry // res), T)
                    _Q.pack_into(buf, no, _Q.unpack_from(buf, head)[0])
                    _Q.pack_into(buf, head, n)
                    n = nxt
                    if n < 0:
                        break
            finally:
                self._locks.release(0)

    def _collect(self, lists):
        """Read detached lists (ours alone now), then give their nodes back at once."""
        buf = self._buf
        nodes = self._nodes
        out = []
        first = last = -1
        total = 0
        for h in lists:
            batch = []
            n = h
            while n >= 0:
                no = nodes + _NODE_BYTES * n
                nxt, expiry, gen, kind, klen, kstr, key = _NODE.unpack_from(buf, no)
                kb = key[:klen]
                batch.append((expiry, kind, kb.decode() if kstr else kb, gen))
                tail, n = n, nxt
            batch.reverse()
            out.extend(batch)
            total += len(batch)
            if last >= 0:
                _Q.pack_into(buf, nodes + _NODE_BYTES * last, h)
            else:
                first = h
            last = tail
        self._lock()
        try:
            _Q.pack_into(buf, nodes + _NODE_BYTES * last, _Q.unpack_from(buf, 16)[0])
            _Q.pack_into(buf, 16, first)
            _Q.pack_into(buf, 8, _Q.unpack_from(buf, 8)[0] - total)
        finally:
            self._locks.release(0)
        out.sort(key=lambda e: e[0])
        return [e[1:] for e in out]

    def __len__(self) -> int:
        return _Q.unpack_from(self._buf, 8)[0]

    @property
    def errors_full(self) -> int:
        return _Q.unpack_from(self._buf, 32)[0]

    def stats(self) -> dict:
        fresh = _Q.unpack_from(self._buf, 24)[0]
        return {"armed": len(self), "capacity": self.capacity, "never_used": self.capacity - fresh,
                "errors_full": self.errors_full}

    def __repr__(self):
        return "<TimerWheel %s %d armed>" % (self.name, len(self))
