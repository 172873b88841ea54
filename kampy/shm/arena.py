# SPDX-License-Identifier: GPL-2.0-or-later
"""The shared-memory arena: one anonymous shared mapping, carved up before fork.

Why an anonymous mapping (``mmap.mmap(-1, size, flags=MAP_SHARED)``) and not
``multiprocessing.shared_memory``: a named segment must be attached by name in
each child and unlinked exactly once, and on Python 3.11 every attach registers
the segment with the resource tracker, which then unlinks or warns about it when
a child exits (python/cpython#82300).  An anonymous ``MAP_SHARED`` mapping has no
name at all: the supervisor maps it, every forked child inherits the very same
pages, there is nothing to attach to or unlink, and the kernel frees it when the
last process holding it exits -- nothing is ever left behind in /dev/shm, even
after ``kill -9`` of the whole tree.

Layout: the arena is a sequence of regions handed out by ``region()`` in order,
each aligned as asked (64 bytes by default, one cache line), with padding
between them.  The arena itself keeps no bookkeeping inside the mapping: the
allocator runs only in the supervisor, before fork, so every process agrees on
where each region is because it inherited the Python objects that point there.
A region is never freed; the mapping starts zero-filled.
"""

import mmap
import os

__all__ = ["Arena", "ShmError"]


class ShmError(Exception):
    """Shared memory could not be set up (arena too small, bad layout).

    Raised at startup so that the daemon refuses to start with a clear message;
    run-time shortages (a full table, a full timer pool) are not exceptions but
    failed operations, logged and counted.
    """


def _round_up(n, align):
    return (n + align - 1) & ~(align - 1)


class Arena:
    """The one shared mapping of the daemon and a bump allocator for its regions."""

    def __init__(self, size_bytes: int):
        if size_bytes <= 0:
            raise ShmError("shm arena size must be positive, got %d" % size_bytes)
        size = _round_up(int(size_bytes), mmap.PAGESIZE)
        try:
            self._mm = mmap.mmap(-1, size, flags=mmap.MAP_SHARED)
        except OSError as e:
            raise ShmError("cannot map %d bytes of shared memory: %s" % (size, e)) from e
        self._buf = memoryview(self._mm)
        self._size = size
        self._used = 0
        self._owner = os.getpid()
        self._views = []
        self._starts = {}
        self._lock_sets = []

    @property
    def size(self) -> int:
        return self._size

    @property
    def used(self) -> int:
        return self._used

    @property
    def free(self) -> int:
        return self._size - self._used

    def region(self, nbytes: int, align: int = 64) -> memoryview:
        """Carve `nbytes` zeroed bytes; only the creating process may, before fork.

        A child carving its own region would get memory no other process knows
        about, so that is refused rather than silently allowed.
        """
        if self._buf is None:
            raise ShmError("shm arena is closed")
        if os.getpid() != self._owner:
            raise ShmError("shm regions are carved by the supervisor before fork, "
                           "not in pid %d" % os.getpid())
        if nbytes < 0 or align <= 0 or align & (align - 1):
            raise ShmError("bad shm region request: %d bytes aligned to %d" % (nbytes, align))
        start = _round_up(self._used, align)
        if start + nbytes > self._size:
            raise ShmError("shm arena too small: asked for %d bytes, %d left of %d "
                           "(raise shm_mem / -m)"
                           % (nbytes, max(0, self._size - start), self._size))
        self._used = start + nbytes
        view = self._buf[start:start + nbytes]
        self._views.append(view)
        self._starts[id(view)] = start
        return view

    def discarder(self, view: memoryview):
        """A function (offset, nbytes) that gives the whole OS pages inside
        view[offset:offset+nbytes] back to the kernel, in every process at
        once (MADV_REMOVE punches a hole in the shared object); they read as
        zeros afterwards and are allocated again when next written.  Why: a
        table's heap pages stay resident at their high-water mark otherwise,
        so one burst would show as memory held for good."""
        base = self._starts[id(view)]
        advise = getattr(self._mm, "madvise", None)
        how = getattr(mmap, "MADV_REMOVE", None)
        page = mmap.PAGESIZE

        def discard(offset, nbytes):
            lo = _round_up(base + offset, page)
            hi = (base + offset + nbytes) & ~(page - 1)
            if advise is None or how is None or hi <= lo:
                return 0
            advise(how, lo, hi - lo)
            return hi - lo
        return discard

    def track(self, view: memoryview) -> memoryview:
        """Remember a view derived from a region (a cast) so close() can release it."""
        self._views.append(view)
        return view

    def add_lock_set(self, lock_set) -> None:
        """Register a LockSet so that `recover()` reaches it."""
        self._lock_sets.append(lock_set)

    def recover(self, dead_pid: int) -> int:
        """Release every lock a dead child held, in every LockSet of this arena.

        The supervisor calls this after reaping a child and before forking its
        replacement (so the pid cannot have been reused by one of ours).
        """
        return sum(ls.recover(dead_pid) for ls in self._lock_sets)

    def close(self) -> None:
        """Drop this process's view of the mapping; other processes keep theirs."""
        if self._buf is None:
            return
        for v in reversed(self._views):
            v.release()
        self._views.clear()
        self._buf.release()
        self._buf = None
        try:
            self._mm.close()
        except BufferError:
            # A view nobody told us about is still alive: the mapping goes away
            # with the last reference to it instead.
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<Arena %d/%d bytes used>" % (self._used, self._size)
