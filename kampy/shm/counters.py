# SPDX-License-Identifier: GPL-2.0-or-later
"""Statistics counters: one slot per process, summed on read, no lock to count.

Each process writes only its own row (chosen with ``set_slot(rank)`` right
after fork; the supervisor keeps row 0), so an increment is a plain
read-add-write of a word nobody else writes -- no lock, no lost updates.  A
reader sums the column; each word is read with one aligned 8-byte load, so the
sum is a consistent-enough snapshot for statistics.

``reset`` zeroes every process's slot from the outside, which races with an
increment in flight in the owning process (it read the old value before the
reset and writes old+n after it): such an increment brings its slot's
pre-reset value back.  The window is one add per process, and resetting
statistics is an operator action, so we accept it rather than lock the hot path.
"""

import struct

from .arena import ShmError

__all__ = ["Counters"]

# Layout of a Counters region: `nslots` rows, one per process rank, each row
# 64-byte aligned (no two processes write the same cache line):
#
#   row*stride + 8*i    int64   counter i as counted by the process of that rank
#
# in native byte order (the increment is a memoryview cast to 'q'; the mapping
# never leaves this host).#
# stride = 8 * len(names) rounded up to 64.


def _align(n, a=64):
    return (n + a - 1) & ~(a - 1)


class Counters:
    """Named int64 counters, created before fork, incremented without a lock."""

    def __init__(self, arena, names, nslots: int):
        names = list(names)
        if not names or nslots <= 0:
            raise ShmError("counters need at least one name and one slot")
        if len(set(names)) != len(names):
            raise ShmError("duplicate counter names")
        self._names = names
        self._index = {n: i for i, n in enumerate(names)}
        self._n = len(names)
        self._nslots = nslots
        self._stride = _align(8 * self._n)
        self._arena = arena
        self._buf = arena.region(self._stride * nslots)
        self._rank = None
        self._row = None
        self.set_slot(0)

    @staticmethod
    def layout_bytes(ncounters: int, nslots: int) -> int:
        return _align(8 * ncounters) * nslots + 64

    def set_slot(self, rank: int) -> None:
        """Make this process count in row `rank`; call in each child right after fork."""
        if not 0 <= rank < self._nslots:
            raise ShmError("counter slot %d out of range 0..%d" % (rank, self._nslots - 1))
        start = rank * self._stride
        self._rank = rank
        self._row = self._arena.track(self._buf[start:start + 8 * self._n].cast("q"))

    @property
    def slot(self) -> int:
        return self._rank

    def index(self, name: str) -> int:
        """Resolve a name once, for `inc_idx` on hot paths; KeyError if unknown."""
        return self._index[name]

    def inc(self, name: str, n: int = 1) -> None:
        self._row[self._index[name]] += n

    def inc_idx(self, i: int, n: int = 1) -> None:
        self._row[i] += n

    def get(self, name: str) -> int:
        i = self._index[name]
        buf = self._buf
        return sum(struct.unpack_from("=q", buf, r * self._stride + 8 * i)[0]
                   for r in range(self._nslots))

    def reset(self, name: str) -> None:
        """Zero a counter in every slot (see the module doc for the race)."""
        i = self._index[name]
        for r in range(self._nslots):
            struct.pack_into("=q", self._buf, r * self._stride + 8 * i, 0)

    def names(self) -> list:
        return list(self._names)

    def get_all(self) -> dict:
        fmt = struct.Struct("=%dq" % self._n)
        totals = [0] * self._n
        for r in range(self._nslots):
            for i, v in enumerate(fmt.unpack_from(self._buf, r * self._stride)):
                totals[i] += v
        return dict(zip(self._names, totals))

    def __repr__(self):
        return "<Counters %d names x %d slots>" % (self._n, self._nslots)
