# SPDX-License-Identifier: GPL-2.0-or-later
"""Pseudo-variables: the base class, the registry, value conventions.

Values a PV gives are `str`, `int` or `None` ($null), as in Kamailio.  SIP
bytes become str with UTF-8 and surrogateescape, so any byte survives a
round trip back to the wire (`s2b(b2s(x)) == x`).

A PV class is registered by name with a factory `factory(spec, resolve)`:
`spec` is the parsed PVSpec (name, inner, index, pos), `resolve(spec)` turns a
nested PVSpec (a PV index like `[$var(i)]`, a PV inside `inner`) into a PV
object.  The factory runs once at startup and raises ConfigError for what it
cannot accept; `get(ctx)` runs per message and never raises for bad message
content (it gives None instead).
"""

from .ast import ConfigError


def b2s(b) -> str:
    if b is None:
        return None
    return b.decode("utf-8", "surrogateescape")


def s2b(s) -> bytes:
    if isinstance(s, bytes):
        return s
    if isinstance(s, int):
        return str(s).encode()
    return s.encode("utf-8", "surrogateescape")


def to_str(v) -> str:
    """Kamailio's conversion of a value to a string ($null gives "")."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return str(v)


def to_int(v) -> int:
    """Kamailio's str2int: a decimal (optionally signed) number, else 0."""
    if isinstance(v, int):
        return v
    if not v:
        return 0
    try:
        return int(v.strip(), 10)
    except (ValueError, AttributeError):
        try:
            return int(v.strip(), 0)
        except (ValueError, AttributeError):
            return 0


class PV:
    """A resolved pseudo-variable.  Subclasses override get (and set/unset if
    writable); `writable` tells the compiler whether assignment is allowed."""

    __slots__ = ("spec",)
    writable = False
    # What get() gives, for the compiler's inline code: "any" (str, int or
    # None), "strn" (a str or None) or "val" (an int or a str, never None).
    kind = "any"

    def __init__(self, spec):
        self.spec = spec

    def get(self, ctx):
        raise NotImplementedError

    def getter(self):
        """The function ctx -> value that compiled code calls: get, or a
        shorter path to the same value (one Python call less per read)."""
        return self.get

    def get_all(self, ctx) -> list:
        """Every value, for `[*]` readers; single-valued PVs give [value]."""
        v = self.get(ctx)
        return [] if v is None else [v]

    def set(self, ctx, value):
        raise ConfigError(self.spec.pos if self.spec else None,
                          "pseudo-variable is read-only")

    def unset(self, ctx):
        """`$x = $null`."""
        self.set(ctx, None)

    def __repr__(self):
        return "<PV %s>" % (self.spec.text if self.spec else type(self).__name__)


class ConstPV(PV):
    """A value fixed at startup ($def, a literal used where a PV is taken)."""

    __slots__ = ("value",)

    def __init__(self, spec, value):
        super().__init__(spec)
        self.value = value

    def get(self, ctx):
        return self.value


class FuncPV(PV):
    """A read-only PV computed by a function of the context."""

    __slots__ = ("fn",)

    def __init__(self, spec, fn):
        super().__init__(spec)
        self.fn = fn

    def get(self, ctx):
        return self.fn(ctx)

    def getter(self):
        return self.fn


class TransformedPV(PV):
    """A PV read through a chain of transformations (read-only)."""

    __slots__ = ("pv", "chain")

    def __init__(self, spec, pv, chain):
        super().__init__(spec)
        self.pv = pv
        self.chain = chain

    def get(self, ctx):
        v = self.pv.get(ctx)
        for tr in self.chain:
            v = tr(v, ctx)
        return v


class Registry:
    """Names of PV classes and transformations known to one compiled config:
    the core ones plus those of the loaded modules."""

    def __init__(self):
        self.pvs = {}          # name -> factory(spec, resolve)
        self.transforms = {}   # "s.len" -> factory(args, pos) -> fn(value, ctx)

    def add_pv(self, name, factory):
        self.pvs[name] = factory

    def add_transform(self, name, factory):
        self.transforms[name] = factory

    def resolve(self, spec):
        """Turn a PVSpec into a PV object (raises ConfigError)."""
        factory = self.pvs.get(spec.name)
        if factory is None:
            raise ConfigError(spec.pos, "unknown pseudo-variable $%s" % spec.name)
        pv = factory(spec, self.resolve)
        if spec.transforms:
            chain = []
            for tr in spec.transforms:
                tf = self.transforms.get(tr.name)
                if tf is None:
                    raise ConfigError(tr.pos, "unknown transformation {%s}" % tr.name)
                args = [self.resolve(a) if not isinstance(a, str) else a for a in tr.args]
                if getattr(tf, "resolving", False):
                    chain.append(tf(args, tr.pos, self.resolve))
                else:
                    chain.append(tf(args, tr.pos))
            pv = TransformedPV(spec, pv, chain)
        return pv


def fixed_name(spec) -> str:
    """The constant name in $x(name), for PVs that take no index."""
    if spec.index is not None:
        raise ConfigError(spec.pos, "$%s takes no index" % spec.name)
    inner = spec.inner
    if not isinstance(inner, str) or not inner.strip():
        raise ConfigError(spec.pos, "$%s needs a name in parentheses" % spec.name)
    return inner.strip()
