# SPDX-License-Identifier: GPL-2.0-or-later
"""The arena's region allocator and the owner-tracked LockSet."""

import os
import signal

import pytest

from kampy.shm import Arena, LockSet, LockTimeout, ShmError


def test_regions_are_aligned_zeroed_and_disjoint(arena):
    r1 = arena.region(10)
    r2 = arena.region(100, align=256)
    r3 = arena.region(8, align=8)
    assert len(r1) == 10 and len(r2) == 100 and len(r3) == 8
    assert bytes(r2) == bytes(100)
    r1[:] = b"x" * 10
    assert bytes(r2) == bytes(100)
    assert arena.used >= 10 + 100 + 8
    assert arena.used % 8 == 0
    assert arena.size == 64 << 20


def test_region_too_big_says_how_much_was_asked_and_what_is_left():
    with Arena(8192) as a:
        a.region(1000)
        with pytest.raises(ShmError) as e:
            a.region(100000)
        msg = str(e.value)
        assert "100000" in msg and "left" in msg and str(8192 - 1024) in msg
        a.region(8192 - 1024)          # exactly what is left still works
        with pytest.raises(ShmError):
            a.region(1)


def test_region_rejects_bad_alignment(arena):
    with pytest.raises(ShmError):
        arena.region(8, align=3)


def test_child_sees_parent_writes_and_may_not_carve(arena, children):
    r = arena.region(16)
    r[:5] = b"hello"

    def child():
        assert bytes(r[:5]) == b"hello"
        r[5:10] = b"world"
        try:
            arena.region(8)
        except ShmError:
            os._exit(3)

    assert children.wait(children.fork(child)) == 3
    assert bytes(r[:10]) == b"helloworld"


def test_close_is_idempotent():
    a = Arena(4096)
    a.region(64)
    a.close()
    a.close()
    with pytest.raises(ShmError):
        a.region(8)


def test_lock_owner_timeout_and_context(arena):
    ls = LockSet(arena, 3)
    assert ls.owner(1) == 0
    assert ls.acquire(1)
    assert ls.owner(1) == os.getpid()
    assert not ls.acquire(1, timeout=0.01)
    ls.release(1)
    assert ls.owner(1) == 0
    with ls.locked(2):
        assert ls.owner(2) == os.getpid()
        with pytest.raises(LockTimeout):
            with ls.locked(2, timeout=0.01):
                pass
    assert ls.owner(2) == 0


def test_lock_taken_in_child_released_in_parent(arena, children):
    ls = LockSet(arena, 2)

    def child():
        assert ls.acquire(0)

    pid = children.fork(child)
    assert children.wait(pid) == 0
    assert ls.owner(0) == pid
    assert not ls.acquire(0, timeout=0.01)
    assert ls.recover(pid) == 1
    assert ls.owner(0) == 0
    assert ls.acquire(0, timeout=1)
    ls.release(0)
    assert ls.recover(pid) == 0


def test_recover_wakes_a_waiter_blocked_on_a_dead_holder(arena, children):
    ls = LockSet(arena, 4, orphan_wait=0.05)
    seen = []

    def hook(idx):
        seen.append(list(idx))
        return None

    ls._on_recover = hook

    def holder():
        ls.acquire(1)
        ls.acquire(3)
        os.kill(os.getpid(), signal.SIGKILL)

    dead = children.fork(holder)
    assert children.wait(dead) == -signal.SIGKILL

    def waiter():
        with ls.locked(3, timeout=10):
            pass

    w = children.fork(waiter)
    assert arena.recover(dead) == 2
    assert seen == [[1, 3]]
    assert children.wait(w) == 0
    assert [ls.owner(i) for i in range(4)] == [0, 0, 0, 0]


def test_recover_releases_an_orphan_taken_without_owner(arena, children):
    ls = LockSet(arena, 3, orphan_wait=0.05)
    ls.acquire(0)                                    # a live holder: left alone

    def dies_in_the_window():
        ls._sems[2].acquire()                        # semaphore taken, pid not yet written
        os._exit(0)

    dead = children.fork(dies_in_the_window)
    assert children.wait(dead) == 0
    assert ls.owner(2) == 0 and not ls.acquire(2, timeout=0.01)
    assert ls.recover(dead) == 1
    assert ls.acquire(2, timeout=1)
    assert ls.owner(0) == os.getpid()
    ls.release(2)
    ls.release(0)
