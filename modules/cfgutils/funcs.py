# SPDX-License-Identifier: GPL-2.0-or-later
"""cfgutils: random decisions, delays, global flags, locks, core_hash, route
helpers, memory status lines."""

import hashlib
import os
import resource
import threading
import time
import weakref

from kampy.module import Fmt, IntV, Param, ParamValues
from kampy.script.ast import ConfigError
from kampy.script.pv import s2b

from ..pv.params import apply as apply_assignments, check_assignment



def _check_prob(v):
    if not 0 <= v <= 100:
        raise ValueError("initial_probability must be 0..100")
    return v


def _check_lock_size(v):
    if not 0 <= v <= 10:
        raise ValueError("lock_set_size must be 0..10")
    return v


P = ParamValues([
    Param("initial_probability", int, 10, check=_check_prob,
          doc="rand_event() probability in percent"),
    Param("hash_file", str, "", doc="file whose MD5 is taken at startup"),
    Param("initial_gflags", int, 0, doc="start value of the global flags"),
    Param("lock_set_size", int, 0, check=_check_lock_size,
          doc="2^n locks for lock(); 0: no lock()"),
    Param("shvset", str, multi=True, check=check_assignment, doc="as the pv module's"),
    Param("varset", str, multi=True, check=check_assignment, doc="as the pv module's"),
])


class _State:
    """Per process (per Runtime): Kamailio keeps the probability and the
    gflags in shared memory; kampy shares them once shared memory arrives."""

    def __init__(self):
        self.prob = P.initial_probability
        self.gflags = P.initial_gflags & 0xFFFFFFFF
        self.locks = [threading.Lock() for _ in range(1 << P.lock_set_size)] if P.lock_set_size > 0 else None
        self.config_hash = None


_STATES = weakref.WeakKeyDictionary()


def state(rt) -> _State:
    st = _STATES.get(rt)
    if st is None:
        st = _STATES[rt] = _State()
    return st


def mod_init(rt):
    st = _STATES[rt] = _State()
    if P.hash_file:
        try:
            with open(P.hash_file, "rb") as f:
                st.config_hash = hashlib.md5(f.read()).hexdigest()
        except OSError as e:
            raise RuntimeError("cfgutils: cannot read hash_file %s: %s" % (P.hash_file, e.strerror))
    apply_assignments(rt, P)


# --- random ---------------------------------------------------------------------------------

def rand_event(ctx) -> int:
    """rand_event(): true with the current probability"""
    return 1 if ctx.rt.random.randrange(100) < state(ctx.rt).prob else -1


def prob_fixup(args, pos):
    a = args[0]
    v = getattr(a, "value", None)
    if isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit()):
        if not 0 <= int(v) <= 100:
            raise ConfigError(a.pos, "rand_set_prob: probability %s out of range 0..100" % v)
    return args


def rand_set_prob(ctx, prob: IntV) -> int:
    """rand_set_prob(probability): 0..100 percent"""
    if not 0 <= prob <= 100:
        ctx.rt.log(-1, "cfgutils: probability %d out of range 0..100" % prob)
        return -1
    state(ctx.rt).prob = prob
    return 1


def rand_reset_prob(ctx) -> int:
    """rand_reset_prob(): back to initial_probability"""
    state(ctx.rt).prob = P.initial_probability
    return 1


def rand_get_prob(ctx) -> int:
    """rand_get_prob(): the probability is the return code, so 0 stops the
    script, as in Kamailio"""
    return state(ctx.rt).prob


# --- delays ----------------------------------------------------------------------------------

def sleep(ctx, seconds: IntV) -> int:
    """sleep(time): blocks this worker, as in Kamailio"""
    if seconds > 0:
        time.sleep(seconds)
    return 1


def usleep(ctx, micros: IntV) -> int:
    """usleep(time): microseconds; blocks this worker"""
    if micros > 0:
        time.sleep(micros / 1e6)
    return 1


# --- memory status lines ---------------------------------------------------------------------

def _mem_line(ctx, what):
    ru = resource.getrusage(resource.RUSAGE_SELF)
    ctx.rt.log(2, "%s: pid %d, max resident size %d kB (Python manages the memory)"
               % (what, os.getpid(), ru.ru_maxrss), "<cfgutils>")
    return 1


def pkg_status(ctx) -> int:
    """pkg_status(): a log line about this process's memory"""
    return _mem_line(ctx, "pkg status")


def pkg_summary(ctx) -> int:
    """pkg_summary()"""
    return _mem_line(ctx, "pkg summary")


def shm_status(ctx) -> int:
    """shm_status()"""
    return _mem_line(ctx, "shm status")


def shm_summary(ctx) -> int:
    """shm_summary()"""
    return _mem_line(ctx, "shm summary")


# --- global flags ----------------------------------------------------------------------------

def _gflag_ok(ctx, flag):
    if 0 <= flag <= 31:
        return True
    ctx.rt.log(-1, "cfgutils: global flag %d out of range 0..31" % flag)
    return False


def set_gflag(ctx, flag: IntV) -> int:
    """set_gflag(flag)"""
    if not _gflag_ok(ctx, flag):
        return -1
    state(ctx.rt).gflags |= 1 << flag
    return 1


def reset_gflag(ctx, flag: IntV) -> int:
    """reset_gflag(flag)"""
    if not _gflag_ok(ctx, flag):
        return -1
    state(ctx.rt).gflags &= ~(1 << flag)
    return 1


def is_gflag(ctx, flag: IntV) -> int:
    """is_gflag(flag)"""
    if not _gflag_ok(ctx, flag):
        return -1
    return 1 if state(ctx.rt).gflags & (1 << flag) else -1


# --- core_hash and locks --------------------------------------------------------------------

def _signed(b):
    return b - 256 if b > 127 else b


def _mix(h, data: bytes, icase: bool):
    M = 0xFFFFFFFF
    if icase:
        data = data.lower()
    n = len(data)
    i = 0
    while i + 4 <= n:
        v = ((_signed(data[i]) << 24) + (_signed(data[i + 1]) << 16)
             + (_signed(data[i + 2]) << 8) + _signed(data[i + 3])) & M
        h = (h + (v ^ (v >> 3))) & M
        i += 4
    v = 0
    while i < n:
        v = ((v << 8) + _signed(data[i])) & M
        i += 1
    return (h + (v ^ (v >> 3))) & M


def core_hash_value(s1: bytes, s2, size: int, icase: bool = False) -> int:
    """Kamailio's core_hash() over one or two strings, masked to size (a power
    of two) when size is not 0."""
    h = _mix(0, s1, icase)
    if s2:
        h = _mix(h, s2, icase)
    h = ((h + (h >> 11)) + ((h >> 13) + (h >> 23))) & 0xFFFFFFFF
    return h & (size - 1) if size else h


def core_hash(ctx, s1: Fmt, s2: Fmt, size: IntV) -> int:
    """core_hash(string1, string2, size): the hash in 2^size slots, plus one,
    since a return code of 0 would stop the script"""
    size = max(0, min(size, 31))
    return core_hash_value(s2b(s1), s2b(s2) if s2 else None, 1 << size) + 1


def _lock(ctx, key):
    st = state(ctx.rt)
    if st.locks is None:
        ctx.rt.log(-1, "cfgutils: lock set not initialized - see parameter lock_set_size")
        return None
    return st.locks[core_hash_value(s2b(key), None, len(st.locks), icase=True)]


def lock(ctx, key: Fmt) -> int:
    """lock(key): locks are per process until kampy has shared memory"""
    lk = _lock(ctx, key)
    if lk is None:
        return -1
    lk.acquire()
    return 1


def trylock(ctx, key: Fmt) -> int:
    """trylock(key): -1 when the lock is taken"""
    lk = _lock(ctx, key)
    if lk is None:
        return -1
    return 1 if lk.acquire(blocking=False) else -1


def unlock(ctx, key: Fmt) -> int:
    """unlock(key)"""
    lk = _lock(ctx, key)
    if lk is None:
        return -1
    try:
        lk.release()
    except RuntimeError:
        ctx.rt.log(-1, "cfgutils: unlock(%s): not locked" % key)
        return -1
    return 1


# --- routes ------------------------------------------------------------------------------------

def check_route_exists(ctx, name: Fmt) -> int:
    """check_route_exists(route): route[name] is defined"""
    return 1 if name in ctx.rt.script.routes else -1


def route_if_exists(ctx, name: Fmt) -> int:
    """route_if_exists(route): run route[name] if there is one; its return
    code, -1 when it does not exist"""
    fn = ctx.rt.script.routes.get(name)
    if fn is None:
        return -1
    rc = fn(ctx)
    ctx.rc = rc
    return rc
