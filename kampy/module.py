# SPDX-License-Identifier: GPL-2.0-or-later
"""The module API: how a module declares its whole surface in one place.

A module is a Python package (or file) exposing `exports = Module(...)`.  The
declarations are plain data; the config compiler reads them to check and fix
up the config at startup, the daemon reads them to create shared tables,
timers and processes before it forks.

Script functions are plain Python functions `(ctx, *args) -> int` returning
Kamailio's codes (>0 true, <0 false, 0 stop).  The kind of each argument comes
from its annotation (one of the kinds below) and is fixed up once at startup.
"""

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

# --- route types (bit flags, so a function lists where it is allowed) ----------------
REQUEST_ROUTE = 1
FAILURE_ROUTE = 2
ONREPLY_ROUTE = 4          # tm's onreply_route[NAME]
BRANCH_ROUTE = 8
ONSEND_ROUTE = 16
ERROR_ROUTE = 32
LOCAL_ROUTE = 64
EVENT_ROUTE = 128
BRANCH_FAILURE_ROUTE = 256
CORE_REPLY_ROUTE = 512     # reply_route / onreply_route without a name
ANY_ROUTE = 1023

ROUTE_NAMES = {
    REQUEST_ROUTE: "request_route", FAILURE_ROUTE: "failure_route",
    ONREPLY_ROUTE: "onreply_route", BRANCH_ROUTE: "branch_route",
    ONSEND_ROUTE: "onsend_route", ERROR_ROUTE: "error_route",
    LOCAL_ROUTE: "local_route", EVENT_ROUTE: "event_route",
    BRANCH_FAILURE_ROUTE: "branch_failure_route", CORE_REPLY_ROUTE: "reply_route",
}


# --- argument kinds (used as annotations) --------------------------------------------
class Kind:
    """Marker base class: how the compiler fixes up one script argument."""


class Int(Kind):
    """A constant integer (a number, or a string holding one, as Kamailio allows)."""


class IntV(Kind):
    """An integer that may come from a PV at run time: receives an int."""


class Str(Kind):
    """A constant string (PVs not expanded)."""


class Fmt(Kind):
    """A string whose PVs are expanded at run time: receives a str."""


class PVW(Kind):
    """A writable pseudo-variable: receives the PV object (get/set)."""


class PVR(Kind):
    """A readable pseudo-variable: receives the PV object."""


class Regex(Kind):
    """A constant regular expression (POSIX ERE), compiled at startup: receives re.Pattern."""


class RegexV(Kind):
    """A regex that may hold PVs: receives a compiled pattern at run time."""


class RouteName(Kind):
    """The name of a route[NAME] that must exist: receives the name (str)."""


class FailureRouteName(Kind):
    """The name of a failure_route[NAME] that must exist."""


class BranchRouteName(Kind):
    """The name of a branch_route[NAME] that must exist."""


class ReplyRouteName(Kind):
    """The name of an onreply_route[NAME] that must exist."""


class Flag(Kind):
    """A flag number 0..31 (or a name given with #!define): receives an int."""


KINDS = (Int, IntV, Str, Fmt, PVW, PVR, Regex, RegexV, RouteName,
         FailureRouteName, BranchRouteName, ReplyRouteName, Flag)


# --- declarations -------------------------------------------------------------------

@dataclass
class Param:
    """A module parameter set with modparam().  type is int or str; a multi
    parameter may be set several times and collects a list."""
    name: str
    type: type
    default: Any = None
    multi: bool = False
    doc: str = ""
    check: Optional[Callable[[Any], Any]] = None   # validates/converts; raises ValueError


@dataclass
class Func:
    """A script function.  Arity and argument kinds come from fn's signature."""
    name: str
    fn: Callable
    routes: int = ANY_ROUTE
    doc: str = ""
    fixup: Optional[Callable] = None   # optional (args: list, pos) -> list, run at startup
    level: Optional[int] = None        # a log function: skipped (rc 1) when debug is lower
    level_arg: Optional[int] = None    # ... or the index of its constant level argument

    @property
    def kinds(self) -> list:
        sig = inspect.signature(self.fn)
        params = list(sig.parameters.values())[1:]   # first is ctx
        out = []
        for p in params:
            ann = p.annotation
            if isinstance(ann, str):
                ann = globals().get(ann, ann)
            out.append(ann if isinstance(ann, type) and issubclass(ann, Kind) else Fmt)
        return out

    @property
    def arity(self) -> int:
        return len(self.kinds)


@dataclass
class PvDef:
    """A pseudo-variable class `$name(...)`.  factory(inner, index, pos) returns
    an object with get(ctx) and, if writable, set(ctx, value); it raises
    ConfigError for an inner name it cannot accept."""
    name: str
    factory: Callable
    doc: str = ""


@dataclass
class TrDef:
    """A transformation `{name,args}`: factory(args, pos) -> callable(value, ctx)."""
    name: str
    factory: Callable
    doc: str = ""


@dataclass
class Rpc:
    """An RPC method `module.verb`; fn(rt, *params) returns the result."""
    name: str
    fn: Callable
    doc: str = ""


@dataclass
class Counter:
    """A statistic `group:name` (stats.get_statistics, cnt.get)."""
    group: str
    name: str
    doc: str = ""
    fn: Optional[Callable] = None   # computed counter: fn(rt) -> int


@dataclass
class Timer:
    """A periodic job run by the timer process every `interval` seconds."""
    name: str
    fn: Callable
    interval: float


@dataclass
class Process:
    """An extra process the supervisor forks: fn(rt, rank) runs forever."""
    name: str
    fn: Callable
    title: str = ""


@dataclass
class TableDef:
    """A shared-memory hash table the module needs, created before the fork.
    size_fn(rt) gives (buckets, heap_bytes) from the module's parameters."""
    name: str
    size_fn: Callable
    nlocks: int = 64
    header_fields: tuple = ()


@dataclass
class Module:
    """Everything a module exports."""
    name: str
    doc: str = ""
    params: Optional["ParamValues"] = None            # ParamValues([Param, ...])
    functions: list = field(default_factory=list)     # list[Func]
    pvs: list = field(default_factory=list)           # list[PvDef]
    transforms: list = field(default_factory=list)    # list[TrDef]
    rpcs: list = field(default_factory=list)          # list[Rpc]
    event_routes: list = field(default_factory=list)  # list[str], e.g. "uac:reply"
    counters: list = field(default_factory=list)      # list[Counter]
    tables: list = field(default_factory=list)        # list[TableDef]
    timer_handlers: dict = field(default_factory=dict)  # kind -> fn(rt, key, gen) fired by the timer process
    timers: list = field(default_factory=list)        # list[Timer]
    procs: list = field(default_factory=list)         # list[Process]
    depends: list = field(default_factory=list)       # module names that must be loaded
    mod_init: Optional[Callable] = None               # (rt) -> None, before fork; raise to fail
    child_init: Optional[Callable] = None             # (rt, rank) -> None, in each child
    destroy: Optional[Callable] = None                # (rt) -> None, at shutdown
    reply_hook: Optional[Callable] = None             # (ctx) -> bool: True if it took the reply
    pre_script: Optional[Callable] = None             # (ctx) -> bool: True if it took the request
    api: Optional[Callable] = None                    # (rt) -> object other modules get via rt.api(name)
    unsupported: tuple = ()                           # Kamailio functions kampy does not have


class ParamValues:
    """A module's parameter values: defaults, then modparam() settings."""

    def __init__(self, params: list):
        object.__setattr__(self, "_defs", {p.name: p for p in params})
        self.reset()

    def reset(self):
        for p in self._defs.values():
            object.__setattr__(self, p.name, [] if p.multi else p.default)

    def set(self, name: str, value):
        """Apply one modparam; raises KeyError (unknown) or ValueError (bad value)."""
        p = self._defs[name]
        if p.type is int and not isinstance(value, int):
            try:
                value = int(str(value).strip(), 0)
            except ValueError:
                raise ValueError("parameter %s takes an integer, not %r" % (name, value)) from None
        elif p.type is str and not isinstance(value, str):
            value = str(value)
        if p.check is not None:
            value = p.check(value)
        if p.multi:
            getattr(self, name).append(value)
        else:
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
