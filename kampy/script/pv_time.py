# SPDX-License-Identifier: GPL-2.0-or-later
"""Time pseudo-variables: $Ts $Tf $TS $Tb $TF $TV(...) $time(...) $utime(...)
$timef(fmt) $utimef(fmt).

Kamailio reads the clock once per message ($Ts, $Tf, $TV(s), $TV(u),
$time, $timef...), so every use while one message is handled agrees; the
"now" variants ($TS, $TF, $TV(sn), $TV(Sn), ...) read it at each use.  The
message time is the receive time the worker puts in ctx.t0, or the first
reading of the clock during the run.
"""

import time

from .ast import ConfigError
from .pv import FuncPV, fixed_name

__all__ = ["TIME_PVS", "msg_time"]


def msg_time(ctx) -> float:
    t = ctx.t0
    if t is None:
        t = ctx.t0 = time.time()
    return t


def _Ts(ctx):
    return int(msg_time(ctx))


def _Tf(ctx):
    return time.ctime(int(msg_time(ctx)))


TIME_FIELDS = {
    "sec": lambda tm: tm.tm_sec,
    "min": lambda tm: tm.tm_min,
    "hour": lambda tm: tm.tm_hour,
    "mday": lambda tm: tm.tm_mday,
    "mon": lambda tm: tm.tm_mon,
    "year": lambda tm: tm.tm_year,
    "wday": lambda tm: (tm.tm_wday + 1) % 7 + 1,   # Python: Monday=0; Kamailio: Sunday=1
    "yday": lambda tm: tm.tm_yday,
    "isdst": lambda tm: tm.tm_isdst,
}


def _fields_factory(convert):
    def factory(spec, resolve):
        name = fixed_name(spec)
        field = TIME_FIELDS.get(name)
        if field is None:
            raise ConfigError(spec.pos, "unknown $%s field %r (one of %s)"
                              % (spec.name, name, ", ".join(TIME_FIELDS)))
        return FuncPV(spec, lambda ctx: field(convert(int(msg_time(ctx)))))
    return factory


def _strftime_factory(convert):
    """$timef(fmt) / $utimef(fmt): strftime of the message time; Kamailio
    gives $null for an empty result (and cuts at 63 bytes)."""
    def factory(spec, resolve):
        inner = spec.inner
        if spec.index is not None:
            raise ConfigError(spec.pos, "$%s takes no index" % spec.name)
        if not isinstance(inner, str) or not inner:
            raise ConfigError(spec.pos, "$%s needs a strftime format in parentheses" % spec.name)
        try:
            time.strftime(inner)
        except ValueError as e:
            raise ConfigError(spec.pos, "bad $%s format %r: %s" % (spec.name, inner, e)) from None

        def get(ctx):
            s = time.strftime(inner, convert(int(msg_time(ctx))))
            return s[:63] or None
        return FuncPV(spec, get)
    return factory


_last_sn = [0.0]   # $TV(un) is the microseconds of the last $TV(sn) (per process)


def _tv_sn(ctx):
    t = _last_sn[0] = time.time()
    return int(t)


def _usec(t) -> int:
    return int(round((t - int(t)) * 1e6)) % 1000000


def _tv_Fn(ctx):
    t = time.time()
    return "%s.%06d" % (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(t))), _usec(t))


TV_FIELDS = {
    "s": lambda ctx: int(msg_time(ctx)),
    "u": lambda ctx: _usec(msg_time(ctx)),
    "sn": _tv_sn,
    "un": lambda ctx: _usec(_last_sn[0]),
    "Sn": lambda ctx: "%d.%06d" % (int(t := time.time()), _usec(t)),
    "Fn": _tv_Fn,
    "Sm": lambda ctx: str(time.monotonic_ns()),
}


def _tv_factory(spec, resolve):
    name = fixed_name(spec)
    fn = TV_FIELDS.get(name)
    if fn is None:
        raise ConfigError(spec.pos, "unknown $TV field %r (one of %s)"
                          % (name, ", ".join(TV_FIELDS)))
    return FuncPV(spec, fn)


def _plain(fn):
    def factory(spec, resolve):
        if spec.inner is not None or spec.index is not None:
            raise ConfigError(spec.pos, "$%s takes no name in parentheses" % spec.name)
        return FuncPV(spec, fn)
    return factory


TIME_PVS = {
    "Ts": _plain(_Ts),
    "Tf": _plain(_Tf),
    "TS": _plain(lambda ctx: int(time.time())),
    "TF": _plain(lambda ctx: time.ctime()),
    "Tb": _plain(lambda ctx: int(getattr(ctx.rt, "start_time", 0) or 0)),
    "TV": _tv_factory,
    "time": _fields_factory(time.localtime),
    "utime": _fields_factory(time.gmtime),
    "timef": _strftime_factory(time.localtime),
    "utimef": _strftime_factory(time.gmtime),
}
