# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures for kampy.shm: an arena, and real forked children that are always reaped.

A child runs a function and leaves with os._exit: 0 if it returned, 1 if it
raised (the traceback goes to stderr), or whatever code it chose.  Waits are
bounded; a child still alive at the end of a test is killed and reaped.
"""

import os
import signal
import sys
import time
import traceback

import pytest

from kampy.shm import Arena

WAIT_S = 15.0


class Children:
    def __init__(self):
        self.pids = []

    def fork(self, fn, *args):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fn(*args)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        self.pids.append(pid)
        return pid

    def poll(self, pid):
        """Exit status of a child that has ended (reaping it), None while it runs."""
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            return None
        self.pids.remove(pid)
        return os.waitstatus_to_exitcode(status)

    def wait(self, pid, timeout=WAIT_S):
        """Exit status of a child (-signal if killed); kills it when it overstays."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self.pids.remove(pid)
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.pids.remove(pid)
                pytest.fail("child %d still running after %.0fs" % (pid, timeout))
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def wait_all(self, timeout=WAIT_S):
        return [self.wait(pid, timeout) for pid in list(self.pids)]

    def reap_all(self):
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            self.pids.remove(pid)


@pytest.fixture
def children():
    c = Children()
    try:
        yield c
    finally:
        c.reap_all()


@pytest.fixture
def arena():
    a = Arena(64 << 20)
    try:
        yield a
    finally:
        a.close()
