# SPDX-License-Identifier: GPL-2.0-or-later
"""Locks shared by all processes, with an owner pid so a dead holder can be undone.

Each lock is a POSIX semaphore from ``multiprocessing`` (fork context: the
semaphore is unlinked at creation, so it has no name either and dies with the
last process).  Semaphores, unlike pthread mutexes, may be released by a process
other than the one that took them, which is exactly what the supervisor needs
when a child dies holding one: ``recover(dead_pid)``.

Rule (STYLE.md 6): a lock is held only for a read-modify-write of shared
memory -- never across a send, a DB call, a script run, a log write or any other
I/O -- so holding times are microseconds and a timeout of seconds means the
holder is dead or stuck, not busy.

The owner slot is written just after the semaphore is taken and cleared just
before it is given back, so a process killed (SIGKILL) in those few bytecodes
leaves a taken semaphore with no owner.  ``recover`` finds such orphans too: a
lock whose semaphore stays taken with an empty owner slot for `orphan_wait`
seconds (a live holder fills the slot within microseconds) is released as
well.  The residual risk is a live process descheduled for all of that time in
that one window; `orphan_wait` is 1 s by default to make it negligible.
"""

import contextlib
import logging
import multiprocessing
import os
import struct
import time

from .arena import ShmError

__all__ = ["LockSet", "LockTimeout"]

log = logging.getLogger("kampy.shm")

# Layout of a LockSet region: n little-endian int64 slots, one per lock,
# holding the pid of the process that holds the lock, or 0.
#
#   offset   size  field
#   8*i      8     owner pid of lock i (0 = free, or held in the window above)

_Q = struct.Struct("<q")
_CTX = multiprocessing.get_context("fork")

_pid = os.getpid()


def _refresh_pid():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_refresh_pid)


def my_pid() -> int:
    """This process's pid without a system call per lock."""
    return _pid


class LockTimeout(ShmError):
    """A lock stayed held longer than the caller would wait (its holder is dead or stuck)."""


class LockSet:
    """`n` inter-process locks created before fork, each with an owner-pid slot."""

    def __init__(self, arena, n: int, name: str = "locks", on_recover=None,
                 orphan_wait: float = 1.0):
        if n <= 0:
            raise ShmError("a LockSet needs at least one lock, got %d" % n)
        self.name = name
        self._n = n
        self._owners = arena.region(8 * n)
        self._sems = [_CTX.BoundedSemaphore(1) for _ in range(n)]
        self._on_recover = on_recover
        self.orphan_wait = orphan_wait
        arena.add_lock_set(self)

    @staticmethod
    def layout_bytes(n: int) -> int:
        """Arena bytes `n` locks take, padding included."""
        return 8 * n + 64

    def __len__(self):
        return self._n

    def acquire(self, i: int, timeout: float = None) -> bool:
        """Take lock `i`; False when `timeout` seconds passed first."""
        sem = self._sems[i]
        # A free lock is taken without computing a deadline first.
        if not sem.acquire(False) and not sem.acquire(True, timeout):
            return False
        _Q.pack_into(self._owners, 8 * i, _pid)
        return True

    def try_acquire(self, i: int) -> bool:
        """Take lock `i` only if it is free right now."""
        if not self._sems[i].acquire(False):
            return False
        _Q.pack_into(self._owners, 8 * i, _pid)
        return True

    def release(self, i: int) -> None:
        _Q.pack_into(self._owners, 8 * i, 0)
        self._sems[i].release()

    @contextlib.contextmanager
    def locked(self, i: int, timeout: float = None):
        """`with locks.locked(i):` -- raises LockTimeout after `timeout` seconds."""
        if not self.acquire(i, timeout):
            raise LockTimeout("%s lock %d not free after %.1fs (held by pid %d)"
                              % (self.name, i, timeout, self.owner(i)))
        try:
            yield
        finally:
            self.release(i)

    def owner(self, i: int) -> int:
        """Pid holding lock `i`, 0 if none (a racy snapshot, for diagnostics)."""
        return _Q.unpack_from(self._owners, 8 * i)[0]

    def held_by(self, pid: int) -> list:
        return [i for i in range(self._n) if self.owner(i) == pid]

    def _orphans(self) -> list:
        """Locks taken with no owner for `orphan_wait` seconds (see the module doc)."""
        def suspect(i):
            return self.owner(i) == 0 and self._sems[i].get_value() == 0

        cand = [i for i in range(self._n) if suspect(i)]
        deadline = time.monotonic() + self.orphan_wait
        while cand and time.monotonic() < deadline:
            time.sleep(0.001)
            cand = [i for i in cand if suspect(i)]
        return cand

    def recover(self, dead_pid: int) -> int:
        """Release every lock `dead_pid` held; returns how many.

        Orphans (taken, no owner: the holder died between taking the
        semaphore and writing its pid) are released too.  The locks are first
        taken over (owner := us), then the `on_recover` hook given at creation
        runs with their indices -- a table uses it to finish the dead writer's
        journaled update before anyone else can look -- and only then are they
        released.  The hook may return a line to log, logged once no lock is
        held.
        """
        if dead_pid <= 0 or dead_pid == _pid:
            return 0
        stolen = self.held_by(dead_pid) + self._orphans()
        note = None
        for i in stolen:
            _Q.pack_into(self._owners, 8 * i, _pid)
        try:
            if stolen and self._on_recover is not None:
                note = self._on_recover(stolen)
        finally:
            for i in stolen:
                self.release(i)
        if stolen:
            log.warning("%s: released %d lock(s) held by dead pid %d",
                        self.name, len(stolen), dead_pid)
        if note:
            log.warning("%s", note)
        return len(stolen)

    def __repr__(self):
        return "<LockSet %s n=%d>" % (self.name, self._n)
