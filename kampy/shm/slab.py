# SPDX-License-Identifier: GPL-2.0-or-later
"""The record heap of a Table: a slab allocator with a redo journal.

Size classes step by 16 bytes from 64 B to 1 KiB, then by an eighth of a power
of two up to 16 KiB, then 32 and 64 KiB: a record that grows by a byte past a
class costs 16 bytes or an eighth more, not double (with powers of two alone,
a tm stub of 513 bytes took 1 KiB, and sipp's Call-IDs growing a digit at the
100 000th call doubled the table's memory).  The heap is cut into 64 KiB
pages; a page is given to one class when that class runs out of free blocks
and goes back to the page pool as soon as its last block is freed, so memory
freed by one size of record can later hold another (no slab
"calcification").  Each page keeps its own free list; the pages of a class
that still have room form a doubly linked "partial" list, so alloc and free
are O(1).

Crash consistency.  One alloc or free changes several words (a page
descriptor, a list head, a neighbour's link).  A process killed in the middle
must not leave them half-changed, so every change to shared words goes through
a transaction (``Txn``): the new values are collected in a dict, written to the
journal, the journal's entry count is set (the commit point, one aligned 8-byte
store), the values are applied, and the count is cleared.  A crash before the
commit point changes nothing; after it, whoever next holds the allocator lock
(or the supervisor, in ``LockSet.recover``) replays the journal.  Entries are
absolute values, so replaying twice is harmless.  The table puts its own
pointer switch and record counts into the same transaction, so "unlink the old
record, link the new one, free the old block, count it" is one atomic step.

Journal entries are applied in insertion order; the table builds them so that
every prefix leaves its bucket chain walkable (the new record's next pointer
before the switch, the old record's reuse as a free-list link after it).

A block handed out inside an open transaction may be written to before the
commit (that is how a record is written completely before it is linked): its
first word is left alone, because while the block is free that word is its
free-list link; the table writes the record's first word (its chain pointer)
through the transaction instead.

All writes of shared words are ``struct.pack_into('<q')``; on little-endian
hosts CPython packs that with one 8-byte memcpy, i.e. a single aligned store.
"""

import struct

__all__ = ["Slab", "Txn", "NCLASS", "PAGE", "MAX_BLOCK", "SIZES", "size_class"]

# Layout, at offset `base` inside the owning table's region (all int64, little-endian):
#
#   base+0         8     errors_full   operations refused for lack of memory
#   base+8         8     used_bytes    bytes in allocated blocks (class sizes)
#   base+16        8     fresh         pages [0, fresh) have been handed out at least once
#   base+24        8     pool          first page of the free-page pool (-1 = none),
#                                      linked through the descriptors' `next`
#   base+32        8*NCLASS partial[c] first page of class c with a free block (-1 = none)
#   _JN            8     jn            journal entries to apply (0 = none): the commit point
#   _JOURNAL       16*64 journal       (offset, word) pairs: write int64 `word` at `offset`
#   desc           48*npages           page descriptors, 64-aligned:
#                    +0  cls    size class, -1 = in the pool
#                    +8  nused  blocks allocated
#                    +16 bump   blocks ever carved (block i is at page + i*size);
#                               -1 on a pooled page whose memory was discarded
#                    +24 free   offset of the first free block of the page (0 = none)
#                    +32 prev   previous page in the class's partial list (-1 = none)
#                    +40 next   next page in the partial list or in the pool (-1 = none)
#   heap           65536*npages        the pages, 64-aligned; blocks are 16-aligned
#                                      (every class size is a multiple of 16); the
#                                      first word of a free block is the offset of
#                                      the page's next free block (0 = none)
#
# Offsets are relative to the start of the table's region, so 0 is never a block.

PAGE = 65536


def _class_sizes():
    sizes = list(range(64, 1024, 16))
    s = 1024
    while s < 16384:
        sizes += [s + i * s // 8 for i in range(8)]
        s *= 2
    return tuple(sizes + [16384, 32768, 65536])


SIZES = _class_sizes()                          # bytes of a block of each class
NCLASS = len(SIZES)
PER_PAGE = tuple(PAGE // z for z in SIZES)      # blocks a page of the class holds
MAX_BLOCK = SIZES[-1]
SMALL = 16384
# class of n bytes (n <= SMALL) is BY16[(n + 15) >> 4]
BY16 = tuple(next(c for c, z in enumerate(SIZES) if z >= 16 * i) for i in range(SMALL // 16 + 1))
JOURNAL_MAX = 64

_Q = struct.Struct("<q")
_PAIR = struct.Struct("<qq")

_ERRORS, _USED, _FRESH, _POOL, _PARTIAL = 0, 8, 16, 24, 32
_JN = _PARTIAL + 8 * NCLASS
_JOURNAL = _JN + 8
_META_BYTES = _JOURNAL + 16 * JOURNAL_MAX

D_CLS, D_NUSED, D_BUMP, D_FREE, D_PREV, D_NEXT = 0, 8, 16, 24, 32, 40
_DESC = 48


def size_class(nbytes: int) -> int:
    """Smallest class holding `nbytes`, or -1 when it is bigger than 64 KiB."""
    if nbytes <= SMALL:
        return BY16[(nbytes + 15) >> 4]
    return NCLASS - 2 if nbytes <= 32768 else NCLASS - 1 if nbytes <= MAX_BLOCK else -1


def _align(n, a=64):
    return (n + a - 1) & ~(a - 1)


class Txn:
    """Word writes collected for one atomic commit; reads see the pending values."""

    __slots__ = ("buf", "w")

    def __init__(self, buf):
        self.buf = buf
        self.w = {}

    def get(self, off: int) -> int:
        w = self.w
        if off in w:
            return w[off]
        return _Q.unpack_from(self.buf, off)[0]

    def set(self, off: int, value: int) -> None:
        self.w[off] = value


class Slab:
    """Allocator state inside a table region; the caller holds the allocator lock."""

    def __init__(self, buf, base: int, npages: int):
        self.buf = buf
        self.base = base
        self.npages = npages
        self.desc = _align(base + _META_BYTES)
        self.heap = _align(self.desc + _DESC * npages)
        self.end = self.heap + PAGE * npages
        if self.end > len(buf):
            raise ValueError("slab does not fit its region")
        _Q.pack_into(buf, base + _POOL, -1)
        for c in range(NCLASS):
            _Q.pack_into(buf, base + _PARTIAL + 8 * c, -1)

    @staticmethod
    def layout_bytes(npages: int) -> int:
        """Bytes from `base` to the end of the heap, worst-case alignment included."""
        return _align(_META_BYTES) + _align(_DESC * npages) + PAGE * npages + 64

    # --- giving pooled pages back to the kernel --------------------------------------

    def release_pool(self, discard, reserve: int = 16, share: int = 16) -> int:
        """Discard the heap pages of pooled pages, all but the most recently
        pooled `reserve` plus 1/`share` of the pages in use, which stay
        resident for the next burst (the caller holds the allocator lock).

        A discarded page is marked with bump = -1 so that the next call skips
        it; alloc resets bump when it takes the page again.  The mark is a
        plain store outside the journal: a crash between the discard and the
        mark only makes the next call discard the page once more.  Returns
        the number of pages discarded."""
        word = self._word
        pool = []
        p = word(self.base + _POOL)
        while p >= 0 and len(pool) <= self.npages:
            pool.append(p)
            p = word(self.desc + _DESC * p + D_NEXT)
        keep = reserve + (self.fresh_pages - len(pool)) // share
        pages = sorted(p for p in pool[keep:] if word(self.desc + _DESC * p + D_BUMP) >= 0)
        i = 0
        while i < len(pages):
            j = i + 1
            while j < len(pages) and pages[j] == pages[j - 1] + 1:
                j += 1
            discard(self.heap + PAGE * pages[i], PAGE * (j - i))
            i = j
        for p in pages:
            _Q.pack_into(self.buf, self.desc + _DESC * p + D_BUMP, -1)
        return len(pages)

    @property
    def fresh_pages(self) -> int:
        """Pages handed out at least once (the others were never touched)."""
        return self._word(self.base + _FRESH)

    # --- allocation, inside a transaction -------------------------------------------

    def alloc(self, t: Txn, cls: int) -> int:
        """Offset of a block of class `cls`, or 0 when the heap is full."""
        base = self.base
        head = base + _PARTIAL + 8 * cls
        p = t.get(head)
        if p < 0:
            p = t.get(base + _POOL)
            if p >= 0:
                t.set(base + _POOL, t.get(self.desc + _DESC * p + D_NEXT))
            else:
                p = t.get(base + _FRESH)
                if p >= self.npages:
                    return 0
                t.set(base + _FRESH, p + 1)
            d = self.desc + _DESC * p
            t.set(d + D_CLS, cls)
            t.set(d + D_NUSED, 0)
            t.set(d + D_BUMP, 0)
            t.set(d + D_FREE, 0)
            t.set(d + D_PREV, -1)
            t.set(d + D_NEXT, -1)
            t.set(head, p)
        d = self.desc + _DESC * p
        off = t.get(d + D_FREE)
        if off:
            t.set(d + D_FREE, t.get(off))
        else:
            b = t.get(d + D_BUMP)
            off = self.heap + PAGE * p + b * SIZES[cls]
            t.set(d + D_BUMP, b + 1)
        n = t.get(d + D_NUSED) + 1
        t.set(d + D_NUSED, n)
        if n == PER_PAGE[cls]:
            nxt = t.get(d + D_NEXT)
            t.set(head, nxt)
            if nxt >= 0:
                t.set(self.desc + _DESC * nxt + D_PREV, -1)
            t.set(d + D_NEXT, -1)
        t.set(base + _USED, t.get(base + _USED) + SIZES[cls])
        return off

    def free(self, t: Txn, off: int) -> None:
        p = (off - self.heap) // PAGE
        d = self.desc + _DESC * p
        cls = t.get(d + D_CLS)
        t.set(off, t.get(d + D_FREE))
        t.set(d + D_FREE, off)
        n = t.get(d + D_NUSED)
        was_full = n == PER_PAGE[cls]
        n -= 1
        t.set(d + D_NUSED, n)
        head = self.base + _PARTIAL + 8 * cls
        if n == 0:
            if not was_full:
                self._unlink(t, p, head)
            t.set(d + D_CLS, -1)
            t.set(d + D_NEXT, t.get(self.base + _POOL))
            t.set(self.base + _POOL, p)
        elif was_full:
            h = t.get(head)
            t.set(d + D_PREV, -1)
            t.set(d + D_NEXT, h)
            if h >= 0:
                t.set(self.desc + _DESC * h + D_PREV, p)
            t.set(head, p)
        t.set(self.base + _USED, t.get(self.base + _USED) - SIZES[cls])

    def _unlink(self, t, p, head):
        d = self.desc + _DESC * p
        prev = t.get(d + D_PREV)
        nxt = t.get(d + D_NEXT)
        if prev >= 0:
            t.set(self.desc + _DESC * prev + D_NEXT, nxt)
        else:
            t.set(head, nxt)
        if nxt >= 0:
            t.set(self.desc + _DESC * nxt + D_PREV, prev)

    def in_dense_page(self, off: int, cls: int) -> bool:
        """Whether the page of block `off` has more than half of its blocks in
        use.  Read without the allocator lock: only a hint (which block a
        stripe keeps as its spare), never needed for correctness."""
        d = self.desc + _DESC * ((off - self.heap) // PAGE)
        return 2 * _Q.unpack_from(self.buf, d + D_NUSED)[0] > PER_PAGE[cls]

    def block_class(self, off: int) -> int:
        return _Q.unpack_from(self.buf, self.desc + _DESC * ((off - self.heap) // PAGE) + D_CLS)[0]

    # --- the journal ------------------------------------------------------------------

    def commit(self, t: Txn, hook=None) -> None:
        """Make every write of `t` happen, or (if we die before the count) none."""
        items = t.w
        n = len(items)
        if not n:
            return
        if n > JOURNAL_MAX:
            raise RuntimeError("shm transaction of %d words exceeds the journal" % n)
        buf = self.buf
        flat = [x for kv in items.items() for x in kv]
        struct.pack_into("<%dq" % (2 * n), buf, self.base + _JOURNAL, *flat)
        _Q.pack_into(buf, self.base + _JN, n)
        if hook is not None:
            hook("committed")
        pack = _Q.pack_into
        for off, value in items.items():
            pack(buf, off, value)
        pack(buf, self.base + _JN, 0)

    def pending(self) -> int:
        return _Q.unpack_from(self.buf, self.base + _JN)[0]

    def replay(self) -> bool:
        """Finish a transaction its writer died in; True if there was one."""
        buf = self.buf
        n = self.pending()
        if n == 0:
            return False
        if 0 < n <= JOURNAL_MAX:
            flat = struct.unpack_from("<%dq" % (2 * n), buf, self.base + _JOURNAL)
            for i in range(0, 2 * n, 2):
                _Q.pack_into(buf, flat[i], flat[i + 1])
        _Q.pack_into(buf, self.base + _JN, 0)
        return True

    # --- counters and reports -----------------------------------------------------------

    def count_error(self) -> None:
        off = self.base + _ERRORS
        _Q.pack_into(self.buf, off, _Q.unpack_from(self.buf, off)[0] + 1)

    @property
    def errors(self) -> int:
        return _Q.unpack_from(self.buf, self.base + _ERRORS)[0]

    @property
    def used_bytes(self) -> int:
        return _Q.unpack_from(self.buf, self.base + _USED)[0]

    def _word(self, off):
        return _Q.unpack_from(self.buf, off)[0]

    def stats(self) -> dict:
        fresh = self.fresh_pages
        in_use = sum(1 for p in range(fresh) if self._word(self.desc + _DESC * p + D_CLS) >= 0)
        return {
            "heap_bytes": PAGE * self.npages,
            "used_bytes": self.used_bytes,
            "pages": self.npages,
            "page_bytes": PAGE,
            "touched_bytes": PAGE * fresh,
            "free_pages": self.npages - in_use,
            "errors_full": self.errors,
        }

    def verify(self):
        """Walk every page and list; returns (problems, {block offset: class})."""
        problems = []
        allocated = {}
        word = self._word
        fresh = word(self.base + _FRESH)
        if not 0 <= fresh <= self.npages:
            return ["fresh page index %d out of range" % fresh], allocated
        if self.pending():
            problems.append("journal has %d unapplied entries" % self.pending())
        pool_pages = set()
        p = word(self.base + _POOL)
        while p >= 0 and len(pool_pages) <= fresh:
            pool_pages.add(p)
            if word(self.desc + _DESC * p + D_CLS) != -1:
                problems.append("pool page %d has a class" % p)
            p = word(self.desc + _DESC * p + D_NEXT)
        partial = set()
        for c in range(NCLASS):
            prev, p, seen = -1, word(self.base + _PARTIAL + 8 * c), 0
            while p >= 0 and seen <= fresh:
                d = self.desc + _DESC * p
                if word(d + D_CLS) != c or word(d + D_PREV) != prev:
                    problems.append("partial list %d broken at page %d" % (c, p))
                partial.add(p)
                prev, p, seen = p, word(d + D_NEXT), seen + 1
        used = 0
        for p in range(fresh):
            d = self.desc + _DESC * p
            cls = word(d + D_CLS)
            if cls < 0:
                if p not in pool_pages:
                    problems.append("page %d is lost (neither in use nor in the pool)" % p)
                continue
            size, nb = SIZES[cls], PER_PAGE[cls]
            bump, nused = word(d + D_BUMP), word(d + D_NUSED)
            start = self.heap + PAGE * p
            free = set()
            f = word(d + D_FREE)
            while f and len(free) <= nb:
                free.add(f)
                f = word(f)
            if not 0 < nused <= bump <= nb or nused != bump - len(free):
                problems.append("page %d: nused=%d bump=%d free=%d" % (p, nused, bump, len(free)))
            if (nused < nb) != (p in partial):
                problems.append("page %d: partial-list membership wrong" % p)
            for i in range(bump):
                off = start + i * size
                if off not in free:
                    allocated[off] = cls
                    used += size
        if used != self.used_bytes:
            problems.append("used_bytes %d, blocks add up to %d" % (self.used_bytes, used))
        return problems, allocated
