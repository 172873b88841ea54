# SPDX-License-Identifier: GPL-2.0-or-later
"""A shared hash table of variable-size records: transactions, dialogs, registrations.

Keys are bytes (a str key is stored UTF-8 encoded; "a" and b"a" are the same
key, and iteration gives back the type of the last write).  Values are any
msgpack-able object, stored with ``use_bin_type=True`` and read with
``raw=False`` -- so tuples come back as lists.

Each record has a fixed binary header that ``scan``/``header`` read without
decoding msgpack: ``expires`` is a float, absolute seconds on whatever clock
the caller compares it with (kampy uses ``time.time()``; 0 = never expires),
``flags`` an int64 for the caller's bits, plus any int64 ``header_fields``
named at creation (e.g. a dialog state).

Concurrency: bucket b is guarded by lock ``b % nlocks`` (its "stripe"); the
allocator and its journal by one more lock.  Lock order is always bucket, then
allocator.  Reads take the bucket lock too (a freed block can be reused at
once), but decode the value only after releasing it.  Callbacks (``update``'s
fn, ``scan``'s fn) run under the bucket lock: keep them short, pure, and off
the table.

Spare blocks: each stripe keeps at most one free block per (small) size class,
the block its last replace or delete let go.  A write that finds a spare of
the class it needs uses it and keeps the old block as the new spare, so the
common update / insert / delete touches only stripe words, under the stripe
lock alone, and writers in different stripes do not serialize on the
allocator.  But a delete keeps its block as the spare only when the block's
page is more than half full, and otherwise gives it back to the heap: a spare
takes the stripe's next record of its class to wherever it lay, so spares from
sparse pages kept a class's records spread over all of its pages, none of
which could ever empty (measured: tm's stubs pinned 230 pages with 4 000
records, 32 pages' worth, after sipp's Call-IDs grew a digit).
Spares are bounded (one per class up to 4 KiB per stripe, and together at most
an eighth of the heap); a write that finds the heap full first gives every
spare it can lock back to the heap and tries again, and ``trim`` gives all of
them back.

Crash consistency: a new version is written completely into a fresh (or spare)
block, then the one pointer that links it is switched, then the old block is
freed or kept as the spare -- and the switch, the free or spare swap and the
record count are one journaled transaction: in the stripe's own journal when
only stripe words change, else in the allocator's (see slab.py).  So a writer
killed at any point leaves the old or the new version, never a mix, and no
leaked block.  ``LockSet.recover`` replays an interrupted transaction before
releasing the dead writer's locks; a writer that takes a lock whose journal is
still pending replays it first.

Capacity: a record bigger than 64 KiB, or one that finds the heap full, is
refused -- that one operation returns False (``update``: ``Table.FULL``), the
refusal is counted in ``errors_full`` and logged (at most once a second per
process), and nothing else changes.
"""

import logging
import struct
import time
import zlib

import msgpack

from .arena import ShmError
from . import locks as _locks
from .locks import LockSet, LockTimeout
from .slab import BY16, MAX_BLOCK, NCLASS, PAGE, SIZES, SMALL, Slab, Txn, size_class

__all__ = ["Table"]

log = logging.getLogger("kampy.shm")

# Layout of a table's arena region (little-endian int64 unless noted):
#
#   0         SB*nlocks  stripe areas, SB bytes each (a multiple of 64), changed only
#                        under that stripe's lock:
#                 +0        8       count    records in the stripe
#                 +8        8       jn       journal entries to apply (0 = none): commit point
#                 +16       16*JS   journal  (offset, word) pairs, JS = max(4, 2 + k)
#                 +16+16*JS 8*11    spare[c] a free block of class c kept by the stripe (0 = none)
#   bkt       8*buckets  bucket heads: offset of the bucket's first record, 0 = empty
#   slab      ...        allocator words, journal, page descriptors, heap (slab.py)
#
# A record, in one heap block (offsets from the block start):
#
#   +0    8    next      offset of the next record of the bucket chain (0 = end)
#   +8    8    hash      uint64, CRC-32 of the key, mixed (_hash); bucket = hash % buckets
#   +16   8    expires   float64 seconds, absolute, 0 = never
#   +24   8    flags     int64
#   +32   4    vlen      uint32, bytes of msgpack value
#   +36   2    klen      uint16, bytes of key
#   +38   1    kstr      1 if the key was a str
#   +39   1    (pad)
#   +40   8*k  header_fields, int64 each, in declaration order
#   +40+8k     key bytes, then value bytes
#
# A record lives in the smallest power-of-two block (64 B .. 64 KiB) that holds it.
# A spare block is allocated in the slab but linked only from its spare slot;
# its contents are garbage.

_Q = struct.Struct("<q")
_D = struct.Struct("<d")
_LINK = struct.Struct("<qQ16xIH")
_VK = struct.Struct("<IHB")
_HDR0 = "<qQdqIHBx"
_HDR_BYTES = 40

# Spares: classes up to 4 KiB, within an eighth of the heap.
_SPARE_MAX_CLS = SIZES.index(4096)
_SJ = 16

_pack = msgpack.Packer(use_bin_type=True).pack


def _unpack(raw):
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


def _key(key):
    if isinstance(key, str):
        return key.encode(), 1
    return bytes(key), 0


def _hash(kb, crc=zlib.crc32):
    """CRC-32 (stable across processes, unlike hash() of bytes, and cheap), then a
    multiplicative mix: CRC is linear, so keys differing only in a counter would
    otherwise pile into some of the power-of-two buckets.  The record keeps it
    only to skip most key compares, so 32 bits are plenty."""
    return (crc(kb) * 0x9E3779B97F4A7C15 >> 32) & 0xFFFFFFFF


_WORDS = {}


def _words(n):
    """struct for n int64 words (journal entries), cached."""
    st = _WORDS.get(n)
    if st is None:
        st = _WORDS[n] = struct.Struct("<%dq" % n)
    return st


def _float_word(x):
    return _Q.unpack(_D.pack(float(x)))[0]


def _align(n, a=64):
    return (n + a - 1) & ~(a - 1)


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Table." + self.name


class Table:
    """A hash table in shared memory, created by the supervisor before fork."""

    KEEP = _Sentinel("KEEP")
    DELETE = _Sentinel("DELETE")
    FULL = _Sentinel("FULL")
    MAX_RECORD = MAX_BLOCK

    def __init__(self, arena, name: str, buckets: int, nlocks: int, heap_bytes: int,
                 header_fields=(), lock_timeout: float = 5.0):
        if buckets <= 0 or nlocks <= 0 or heap_bytes <= 0:
            raise ShmError("table %s: buckets, nlocks and heap_bytes must be positive" % name)
        fields = tuple(header_fields)
        for f in fields:
            if not f.isidentifier() or f in ("expires", "flags") or fields.count(f) > 1:
                raise ShmError("table %s: bad header field %r" % (name, f))
        self.name = name
        self.header_fields = fields
        self.lock_timeout = lock_timeout
        self._nb = buckets
        self._nl = nlocks
        self._koff = _HDR_BYTES + 8 * len(fields)
        self._tail = struct.Struct("<QdqIHBx" + "q" * len(fields))
        self._hdr = struct.Struct(_HDR0 + "q" * len(fields))
        self._zeros = (0,) * len(fields)
        npages = -(-heap_bytes // PAGE)
        self._sb = self._stripe_bytes(len(fields))
        self._spares = _SJ + 16 * self._journal_max(len(fields))
        smax = _SPARE_MAX_CLS
        while smax >= 0 and nlocks * sum(SIZES[:smax + 1]) > npages * PAGE // 8:
            smax -= 1
        self._smax = smax
        self._buf = buf = arena.region(self._region_bytes(buckets, nlocks, npages, len(fields)))
        self._bkt = _align(self._sb * nlocks)
        self._slab = Slab(buf, _align(self._bkt + 8 * buckets), npages)
        self._discard = arena.discarder(buf)
        self._alloc_lock = nlocks
        self.locks = LockSet(arena, nlocks + 1, name="table " + name, on_recover=self._on_recover)
        self._sems = self.locks._sems
        self._owners = self.locks._owners
        self._last_log = 0.0
        # Crash tests set this to a callable that kills the process at a stage
        # of a write: "written" (new record complete, nothing linked yet) or
        # "committed" (journal committed, not yet applied).
        self._test_hook = None

    @staticmethod
    def _journal_max(nfields):
        return max(4, 2 + nfields)

    @staticmethod
    def _stripe_bytes(nfields):
        return _align(_SJ + 16 * Table._journal_max(nfields) + 8 * NCLASS)

    @staticmethod
    def _region_bytes(buckets, nlocks, npages, nfields):
        return (_align(Table._stripe_bytes(nfields) * nlocks) + _align(8 * buckets)
                + Slab.layout_bytes(npages))

    @staticmethod
    def layout_bytes(buckets: int, nlocks: int, heap_bytes: int, nfields: int = 0) -> int:
        """Arena bytes a Table with these parameters (and header fields) needs."""
        npages = -(-heap_bytes // PAGE)
        return (Table._region_bytes(buckets, nlocks, npages, nfields) + 64
                + LockSet.layout_bytes(nlocks + 1))

    # --- locking --------------------------------------------------------------------------

    def _lock(self, i):
        # LockSet.acquire, inlined: this runs for every operation.
        if not self._sems[i].acquire(False) and not self._sems[i].acquire(True, self.lock_timeout):
            raise LockTimeout("shm table %s: lock %d held by pid %d for more than %.1fs"
                              % (self.name, i, self.locks.owner(i), self.lock_timeout))
        _Q.pack_into(self._owners, 8 * i, _locks._pid)
        if i < self._nl and _Q.unpack_from(self._buf, self._sb * i + 8)[0]:
            # Its writer died and nobody ran recover(): finish the update now.
            self._stripe_replay(i)

    def _unlock(self, i):
        _Q.pack_into(self._owners, 8 * i, 0)
        self._sems[i].release()

    def _alock(self):
        self._lock(self._alloc_lock)
        if self._slab.pending():
            self._slab.replay()

    def _on_recover(self, stolen):
        done = False
        for i in stolen:
            if i < self._nl:
                done = self._stripe_replay(i) or done
        if self._alloc_lock in stolen and self._slab.replay():
            done = True
        if done:
            return "shm table %s: finished an update interrupted by a dead process" % self.name
        return None

    def _where(self, kb):
        h = self._hash(kb)
        b = h % self._nb
        return h, b, b % self._nl

    _hash = staticmethod(_hash)

    # --- the stripe journal -------------------------------------------------------------------

    def _stripe_commit(self, s, words):
        """Apply (offset, word, ...) atomically, like Slab.commit but in stripe s's journal."""
        buf = self._buf
        jn = self._sb * s + 8
        n = len(words)
        _words(n).pack_into(buf, jn + 8, *words)
        _Q.pack_into(buf, jn, n >> 1)
        if self._test_hook is not None:
            self._test_hook("committed")
        pack = _Q.pack_into
        for i in range(0, n, 2):
            pack(buf, words[i], words[i + 1])
        pack(buf, jn, 0)

    def _stripe_pending(self, s) -> int:
        return _Q.unpack_from(self._buf, self._sb * s + 8)[0]

    def _stripe_replay(self, s) -> bool:
        buf = self._buf
        jn = self._sb * s + 8
        n = _Q.unpack_from(buf, jn)[0]
        if n == 0:
            return False
        if 0 < n <= self._journal_max(len(self.header_fields)):
            flat = struct.unpack_from("<%dq" % (2 * n), buf, jn + 8)
            for i in range(0, 2 * n, 2):
                _Q.pack_into(buf, flat[i], flat[i + 1])
        _Q.pack_into(buf, jn, 0)
        return True

    def _spare_slot(self, s, cls):
        """Address of stripe s's spare word for class cls, or 0 when cls keeps no spare."""
        return self._sb * s + self._spares + 8 * cls if cls <= self._smax else 0

    def _release_spares(self, s):
        """Give stripe s's spares back to the heap (stripe and allocator locks
        held), one allocator transaction per spare: one for all could
        overflow the journal."""
        for c in range(self._smax + 1):
            a = self._sb * s + self._spares + 8 * c
            blk = _Q.unpack_from(self._buf, a)[0]
            if blk:
                t = Txn(self._buf)
                self._slab.free(t, blk)
                t.set(a, 0)
                self._slab.commit(t)

    def _reclaim(self, s):
        """Heap full: free every spare we can lock (s is held by us, with the allocator lock).

        Other stripes are only tried, never waited for: we hold the allocator
        lock, and waiting for a bucket lock under it could deadlock.
        """
        self._release_spares(s)
        for j in range(self._nl):
            if j == s or not self.locks.try_acquire(j):
                continue
            try:
                if _Q.unpack_from(self._buf, self._sb * j + 8)[0]:
                    self._stripe_replay(j)
                self._release_spares(j)
            finally:
                self._unlock(j)

    def trim(self) -> None:
        """Give every stripe's spare blocks back to the heap (tests, or before a report)."""
        for s in range(self._nl):
            self._lock(s)
            try:
                self._alock()
                try:
                    self._release_spares(s)
                finally:
                    self._unlock(self._alloc_lock)
            finally:
                self._unlock(s)

    def release_free(self) -> int:
        """Give the spares back to the heap, then the heap pages nobody uses
        back to the kernel, keeping some pooled pages resident for the next
        burst (16 plus a sixteenth of the pages in use).  The timer process
        calls it every few seconds; returns the pages discarded.

        Why the spares too: each stripe keeps one per class, scattered over
        the class's pages, so when records move to another class (a longer
        Call-ID made tm's 512-byte stubs 520 bytes) the old class's pages
        would never empty.  A stripe makes a new spare on its next write."""
        self.trim()
        self._alock()
        try:
            return self._slab.release_pool(self._discard)
        finally:
            self._unlock(self._alloc_lock)

    # --- records ----------------------------------------------------------------------------

    def _find(self, b, h, kb):
        """(address of the word pointing at the record, record offset or 0)."""
        buf = self._buf
        prev = self._bkt + 8 * b
        off = _Q.unpack_from(buf, prev)[0]
        klen = len(kb)
        ko = self._koff
        unpack = _LINK.unpack_from
        while off:
            nxt, hh, _, kl = unpack(buf, off)
            if hh == h and kl == klen and buf[off + ko:off + ko + klen] == kb:
                return prev, off
            prev, off = off, nxt
        return prev, 0

    def _read_key(self, off):
        vlen, klen, kstr = _VK.unpack_from(self._buf, off + 32)
        ko = off + self._koff
        kb = bytes(self._buf[ko:ko + klen])
        return kb.decode() if kstr else kb

    def _raw_value(self, off):
        vlen, klen, _ = _VK.unpack_from(self._buf, off + 32)
        vo = off + self._koff + klen
        return bytes(self._buf[vo:vo + vlen])

    def _class_of(self, off):
        vlen, klen, _ = _VK.unpack_from(self._buf, off + 32)
        return size_class(self._koff + klen + vlen)

    def _extras(self, fields):
        if not fields:
            return self._zeros
        vals = tuple(int(fields.pop(n, 0)) for n in self.header_fields)
        if fields:
            raise TypeError("table %s has no header field %s" % (self.name, ", ".join(fields)))
        return vals

    def _write(self, off, h, kb, kstr, vb, fields):
        buf = self._buf
        self._tail.pack_into(buf, off + 8, h, fields[0], fields[1], len(vb), len(kb), kstr,
                             *fields[2:])
        ko = off + self._koff
        ke = ko + len(kb)
        buf[ko:ke] = kb
        buf[ke:ke + len(vb)] = vb
        if self._test_hook is not None:
            self._test_hook("written")

    def _commit_record(self, s, prev, old, h, kb, kstr, vb, fields, cls):
        """Write a record into a fresh block and link it where `old` was (or at `prev`)."""
        buf = self._buf
        # Fast path: a spare of our class takes the record, the old block (if
        # any) becomes the spare of its class; only stripe words change.
        spares = self._sb * s + self._spares
        smax = self._smax
        slot = spares + 8 * cls if cls <= smax else 0
        new = _Q.unpack_from(buf, slot)[0] if slot else 0
        oslot = 0
        if old:
            vlen, klen, _ = _VK.unpack_from(buf, old + 32)
            ocls = size_class(self._koff + klen + vlen)
            if ocls <= smax:
                oslot = spares + 8 * ocls
        if new:
            if not old:
                cnt = self._sb * s
                words = [slot, 0, cnt, _Q.unpack_from(buf, cnt)[0] + 1, prev, new]
            elif oslot == slot:
                words = [slot, old, prev, new]
            elif oslot and not _Q.unpack_from(buf, oslot)[0]:
                words = [slot, 0, oslot, old, prev, new]
            else:
                new = 0
            if new:
                # The spare is ours alone: its chain word is written directly.
                _Q.pack_into(buf, new, _Q.unpack_from(buf, old)[0] if old else 0)
                self._write(new, h, kb, kstr, vb, fields)
                self._stripe_commit(s, words)
                return True
        slab = self._slab
        self._alock()
        try:
            t = Txn(buf)
            off = slab.alloc(t, cls)
            if not off:
                self._reclaim(s)
                t = Txn(buf)
                off = slab.alloc(t, cls)
                if not off:
                    slab.count_error()
                    return False
            self._write(off, h, kb, kstr, vb, fields)
            t.set(off, t.get(old) if old else 0)
            t.set(prev, off)
            if old:
                if oslot and not t.get(oslot):
                    t.set(oslot, old)
                else:
                    slab.free(t, old)
            else:
                cnt = self._sb * s
                t.set(cnt, t.get(cnt) + 1)
            slab.commit(t, self._test_hook)
            return True
        finally:
            self._unlock(self._alloc_lock)

    def _remove(self, s, prev, old):
        buf = self._buf
        cnt = self._sb * s
        cls = self._class_of(old)
        slot = self._spare_slot(s, cls)
        if slot and not _Q.unpack_from(buf, slot)[0] and self._slab.in_dense_page(old, cls):
            self._stripe_commit(s, [prev, _Q.unpack_from(buf, old)[0], slot, old,
                                    cnt, _Q.unpack_from(buf, cnt)[0] - 1])
            return
        self._alock()
        try:
            t = Txn(buf)
            t.set(prev, t.get(old))
            self._slab.free(t, old)
            t.set(cnt, t.get(cnt) - 1)
            self._slab.commit(t, self._test_hook)
        finally:
            self._unlock(self._alloc_lock)

    def _refuse(self, nbytes, count=True):
        """Count and log a refused record; called with no lock held."""
        if count:
            self._alock()
            try:
                self._slab.count_error()
            finally:
                self._unlock(self._alloc_lock)
        now = time.monotonic()
        if now - self._last_log >= 1.0:
            self._last_log = now
            why = "bigger than %d bytes" % MAX_BLOCK if nbytes > MAX_BLOCK else "heap full"
            log.error("shm table %s: refused a record of %d bytes (%s); %d refused so far",
                      self.name, nbytes, why, self.errors_full)

    def _store(self, key, value, expires, flags, fields, replace):
        kb, kstr = _key(key)
        vb = _pack(value)
        hdr = (float(expires), int(flags)) + (self._extras(fields) if fields else self._zeros)
        nbytes = self._koff + len(kb) + len(vb)
        cls = BY16[(nbytes + 15) >> 4] if nbytes <= SMALL else size_class(nbytes)   # size_class, inlined
        if cls < 0:
            self._refuse(nbytes)
            return False
        h = self._hash(kb)
        b = h % self._nb
        s = b % self._nl
        self._lock(s)
        try:
            prev, old = self._find(b, h, kb)
            if old and not replace:
                return False
            ok = self._commit_record(s, prev, old, h, kb, kstr, vb, hdr, cls)
        finally:
            self._unlock(s)
        if not ok:
            self._refuse(nbytes, count=False)
        return ok

    # --- the API --------------------------------------------------------------------------------

    def insert(self, key, value, expires=0.0, flags=0, **fields) -> bool:
        """Add a record; False if the key exists or memory is full."""
        return self._store(key, value, expires, flags, fields, False)

    def put(self, key, value, expires=0.0, flags=0, **fields) -> bool:
        """Add or replace a record (header included); False if memory is full."""
        return self._store(key, value, expires, flags, fields, True)

    def get(self, key, default=None):
        kb = key.encode() if isinstance(key, str) else bytes(key)
        h = self._hash(kb)
        b = h % self._nb
        s = b % self._nl
        self._lock(s)
        try:
            off = self._find(b, h, kb)[1]
            if not off:
                return default
            buf = self._buf
            vlen, klen, _ = _VK.unpack_from(buf, off + 32)
            vo = off + self._koff + klen
            raw = bytes(buf[vo:vo + vlen])
        finally:
            self._unlock(s)
        return _unpack(raw)

    def __contains__(self, key) -> bool:
        kb, _ = _key(key)
        h, b, s = self._where(kb)
        self._lock(s)
        try:
            return self._find(b, h, kb)[1] != 0
        finally:
            self._unlock(s)

    def update(self, key, fn, default=None, header=None):
        """Read-modify-write one record under its bucket lock.

        ``fn(value)`` gets the current value, or `default` when the key is
        absent, and returns the new value to store, ``Table.KEEP`` to change
        nothing, or ``Table.DELETE`` to remove the record.  update returns what
        fn returned, or ``Table.FULL`` when the new value could not be stored
        (the old record is then untouched).  A new value keeps the record's
        expires, flags and header fields; a record created here gets zeros.
        With a `header` dict, fn finds the record's "expires" and "flags" in it
        and what it leaves there is stored with the new value (so that
        header() readers see a change without decoding the value).
        fn runs under the lock: no I/O, no calls into this table.
        """
        kb, kstr = _key(key)
        h = self._hash(kb)
        b = h % self._nb
        s = b % self._nl
        refused = 0
        self._lock(s)
        try:
            prev, old = self._find(b, h, kb)
            if old:
                v = self._hdr.unpack_from(self._buf, old)
                hdr = (v[2], v[3]) + v[7:]
                vo = old + self._koff + v[5]
                cur = _unpack(self._buf[vo:vo + v[4]])      # decoded under the lock: no copy
            else:
                hdr = (0.0, 0) + self._zeros
                cur = default
            if header is not None:
                header["expires"], header["flags"] = hdr[0], hdr[1]
            res = fn(cur)
            if res is Table.KEEP:
                return res
            if res is Table.DELETE:
                if old:
                    self._remove(s, prev, old)
                return res
            if header is not None:
                hdr = (float(header["expires"]), int(header["flags"])) + hdr[2:]
            vb = _pack(res)
            nbytes = self._koff + len(kb) + len(vb)
            cls = BY16[(nbytes + 15) >> 4] if nbytes <= SMALL else size_class(nbytes)   # inlined
            if cls < 0:
                refused = nbytes
            elif not self._commit_record(s, prev, old, h, kb, kstr, vb, hdr, cls):
                refused = -nbytes
        finally:
            self._unlock(s)
        if refused:
            self._refuse(abs(refused), count=refused > 0)
            return Table.FULL
        return res

    def delete(self, key) -> bool:
        kb, _ = _key(key)
        h, b, s = self._where(kb)
        self._lock(s)
        try:
            prev, old = self._find(b, h, kb)
            if old:
                self._remove(s, prev, old)
            return old != 0
        finally:
            self._unlock(s)

    def header(self, key):
        """(expires, flags, *header_fields) of a record, or None; no decoding."""
        kb, _ = _key(key)
        h, b, s = self._where(kb)
        self._lock(s)
        try:
            _, off = self._find(b, h, kb)
            hdr = self._hdr.unpack_from(self._buf, off) if off else None
        finally:
            self._unlock(s)
        return None if hdr is None else (hdr[2], hdr[3]) + hdr[7:]

    def set_header(self, key, expires=None, flags=None, **fields) -> bool:
        """Change header fields in place, atomically; False if the key is absent."""
        for f in fields:
            if f not in self.header_fields:
                raise TypeError("table %s has no header field %s" % (self.name, f))
        kb, _ = _key(key)
        h, b, s = self._where(kb)
        self._lock(s)
        try:
            _, off = self._find(b, h, kb)
            if not off:
                return False
            words = []
            if expires is not None:
                words += (off + 16, _float_word(expires))
            if flags is not None:
                words += (off + 24, int(flags))
            for i, f in enumerate(self.header_fields):
                if f in fields:
                    words += (off + _HDR_BYTES + 8 * i, int(fields[f]))
            if words:
                self._stripe_commit(s, words)
            return True
        finally:
            self._unlock(s)

    def __len__(self) -> int:
        buf, sb = self._buf, self._sb
        return sum([_Q.unpack_from(buf, sb * i)[0] for i in range(self._nl)])

    def _buckets(self):
        """Non-empty buckets: a racy peek at each head, re-read under the lock.

        A record inserted into a bucket we already passed, or that we peek at as
        it is being linked, is simply not in this snapshot.
        """
        buf = self._buf
        for b in range(self._nb):
            if _Q.unpack_from(buf, self._bkt + 8 * b)[0]:
                yield b

    def items(self):
        """(key, value) pairs of a snapshot taken bucket by bucket, each under its lock."""
        buf = self._buf
        for b in self._buckets():
            s = b % self._nl
            raw = []
            self._lock(s)
            try:
                off = _Q.unpack_from(buf, self._bkt + 8 * b)[0]
                while off:
                    raw.append((self._read_key(off), self._raw_value(off)))
                    off = _Q.unpack_from(buf, off)[0]
            finally:
                self._unlock(s)
            for k, v in raw:
                yield k, _unpack(v)

    def keys(self):
        return [k for k, _ in self.scan(None)]

    def scan(self, fn):
        """Walk every record's header without decoding values.

        ``fn(key, expires, flags, *header_fields)`` runs under the bucket lock
        and returns true to delete the record.  Returns the deleted keys (with
        fn=None: every (key, header) pair, deleting nothing).
        """
        buf = self._buf
        hdr = self._hdr
        out = []
        for b in self._buckets():
            s = b % self._nl
            self._lock(s)
            try:
                prev = self._bkt + 8 * b
                off = _Q.unpack_from(buf, prev)[0]
                while off:
                    v = hdr.unpack_from(buf, off)
                    key = self._read_key(off)
                    head = (v[2], v[3]) + v[7:]
                    if fn is None:
                        out.append((key, head))
                        prev = off
                    elif fn(key, *head):
                        self._remove(s, prev, off)
                        out.append(key)
                    else:
                        prev = off
                    off = v[0]
            finally:
                self._unlock(s)
        return out

    def collect_expired(self, now: float) -> list:
        """Delete every record with 0 < expires <= now; returns their keys."""
        return self.scan(lambda key, expires, flags, *rest: 0 < expires <= now)

    def lock_index(self, key) -> int:
        """The bucket lock that guards key (tests use it to hold a lock)."""
        return self._where(_key(key)[0])[2]

    def bucket_of(self, key) -> int:
        """The bucket a key hashes to (tm puts it in the Via branch)."""
        return self._where(_key(key)[0])[1]

    # --- reports ---------------------------------------------------------------------------------

    @property
    def errors_full(self) -> int:
        return self._slab.errors

    def mem_stats(self) -> dict:
        """Heap figures; used_bytes counts the spare blocks too, spare_bytes says how many."""
        spare = 0
        for s in range(self._nl):
            for c in range(self._smax + 1):
                if _Q.unpack_from(self._buf, self._sb * s + self._spares + 8 * c)[0]:
                    spare += SIZES[c]
        self._alock()
        try:
            st = self._slab.stats()
        finally:
            self._unlock(self._alloc_lock)
        st["records"] = len(self)
        st["spare_bytes"] = spare
        return st

    def verify(self) -> list:
        """Check every chain, count and allocator list; returns the problems found.

        Takes every lock of the table (in order), so run it in tests or after a
        crash, not on a busy server.
        """
        problems = []
        taken = []
        try:
            for i in range(self._nl):
                self._lock(i)
                taken.append(i)
            self._alock()
            taken.append(self._alloc_lock)
            slab_problems, allocated = self._slab.verify()
            problems.extend(slab_problems)
            buf = self._buf
            counts = [_Q.unpack_from(buf, self._sb * i)[0] for i in range(self._nl)]
            seen = [0] * self._nl
            reachable = set()
            for i in range(self._nl):
                if _Q.unpack_from(buf, self._sb * i + 8)[0]:
                    problems.append("stripe %d journal has unapplied entries" % i)
                for c in range(NCLASS):
                    blk = _Q.unpack_from(buf, self._sb * i + self._spares + 8 * c)[0]
                    if not blk:
                        continue
                    if c > self._smax or allocated.get(blk) != c or blk in reachable:
                        problems.append("stripe %d has a bad spare block at %d" % (i, blk))
                    reachable.add(blk)
            for b in range(self._nb):
                off = _Q.unpack_from(buf, self._bkt + 8 * b)[0]
                while off:
                    if off in reachable or off not in allocated:
                        problems.append("bucket %d links a bad block at %d" % (b, off))
                        break
                    reachable.add(off)
                    hdr = self._hdr.unpack_from(buf, off)
                    if hdr[1] % self._nb != b:
                        problems.append("record at %d is in the wrong bucket" % off)
                    if size_class(self._koff + hdr[4] + hdr[5]) != allocated[off]:
                        problems.append("record at %d does not fit its block" % off)
                    seen[b % self._nl] += 1
                    off = hdr[0]
            if list(counts) != seen:
                problems.append("stripe counts %s, chains hold %s" % (list(counts), seen))
            leaked = set(allocated) - reachable
            if leaked:
                problems.append("%d allocated blocks are not linked" % len(leaked))
        finally:
            for i in reversed(taken):
                self._unlock(i)
        return problems

    def __repr__(self):
        return "<Table %s buckets=%d nlocks=%d>" % (self.name, self._nb, self._nl)
