# SPDX-License-Identifier: GPL-2.0-or-later
"""The syntax tree of a Kamailio-style config, as the parser builds it.

Every node carries `pos`, the (file, line, col) of its first token, so that
every later error can say `file:line:col: message`.  Lines and columns count
from 1.
"""

from dataclasses import dataclass, field
from typing import Optional, Union


@dataclass(frozen=True, slots=True)
class Pos:
    file: str
    line: int
    col: int

    def __str__(self):
        return "%s:%d:%d" % (self.file, self.line, self.col)


class ConfigError(Exception):
    """An error in the config, with where it is."""

    def __init__(self, pos: Optional[Pos], message: str):
        super().__init__(message)
        self.pos = pos
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.pos, self.message) if self.pos else self.message


class ConfigErrors(Exception):
    """Every error found in one run (`kampy -c` prints them all)."""

    def __init__(self, errors: list):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


# --- pseudo-variables ---------------------------------------------------------------

@dataclass(slots=True)
class Transform:
    """One `{class.name,arg,...}`; args are literal strings or Fmt pieces."""
    name: str            # e.g. "s.len", "uri.user", "param.value"
    args: list           # list of str | PVSpec (an argument that is a PV)
    pos: Pos


@dataclass(slots=True)
class PVSpec:
    """`$name`, `$name(inner)`, `$name(inner)[index]`, `$(name(inner)[index]{tr}...)`."""
    name: str                        # "ru", "hdr", "avp", "T_reply_code"
    inner: Optional[str]             # text between the parentheses, or None
    index: Union[None, int, str, "PVSpec"]  # None, an int, "*", or a PV giving the index
    transforms: list                 # list[Transform]
    pos: Pos
    text: str = ""                   # the source text, for messages


# --- expressions ------------------------------------------------------------------

@dataclass(slots=True)
class IntLit:
    value: int
    pos: Pos


@dataclass(slots=True)
class StrLit:
    """A quoted string; `value` has escapes already decoded.  PVs inside it are
    only expanded where a function parameter or xlog format asks for it."""
    value: str
    pos: Pos
    quote: str = '"'     # '"' or "'"


@dataclass(slots=True)
class PVRef:
    spec: PVSpec
    pos: Pos


@dataclass(slots=True)
class Keyword:
    """Core keywords used as values: method, uri, status, src_ip, src_port,
    dst_ip, dst_port, proto, af, msg:len, from_uri, to_uri, myself, and the
    protocol names UDP TCP TLS SCTP WS WSS and INET INET6."""
    name: str
    pos: Pos


@dataclass(slots=True)
class BinOp:
    """op: + - * / % | & ^ << >> == != < > <= >= =~ !~ && ||"""
    op: str
    left: "Expr"
    right: "Expr"
    pos: Pos


@dataclass(slots=True)
class UnOp:
    """op: "!" (logical not), "~" (bitwise not), "-" (negation), "defined"."""
    op: str
    operand: "Expr"
    pos: Pos


@dataclass(slots=True)
class Call:
    """A function call: a module or core function, `route(NAME)`, `strlen(x)`,
    `strempty(x)`.  Args are expressions (literals in most configs)."""
    name: str
    args: list
    pos: Pos


Expr = Union[IntLit, StrLit, PVRef, Keyword, BinOp, UnOp, Call]


# --- statements ---------------------------------------------------------------------

@dataclass(slots=True)
class ExprStmt:
    expr: Expr           # almost always a Call
    pos: Pos


@dataclass(slots=True)
class Assign:
    target: PVSpec
    op: str              # "=" or ":="
    value: Expr
    pos: Pos


@dataclass(slots=True)
class If:
    cond: Expr
    then: list           # list of statements
    orelse: Optional[list]   # None, or a list (an `else if` is a list holding one If)
    pos: Pos


@dataclass(slots=True)
class Case:
    value: Union[None, IntLit, StrLit]   # None for `default`
    body: list
    pos: Pos


@dataclass(slots=True)
class Switch:
    expr: Expr
    cases: list          # list[Case]
    pos: Pos


@dataclass(slots=True)
class While:
    cond: Expr
    body: list
    pos: Pos


@dataclass(slots=True)
class Return:
    value: Optional[Expr]
    pos: Pos


@dataclass(slots=True)
class Exit:
    pos: Pos


@dataclass(slots=True)
class Drop:
    pos: Pos


@dataclass(slots=True)
class Break:
    pos: Pos


# --- top level ----------------------------------------------------------------------

@dataclass(slots=True)
class CoreParam:
    """`name = value`; value is an int, a str, a bool-ish word kept as str
    ("yes"/"no"/"on"/"off"), or for listen/alias a ListenSpec-like str."""
    name: str
    value: object
    pos: Pos
    extra: dict = field(default_factory=dict)   # listen: {"advertise": "...", "name": "..."}


@dataclass(slots=True)
class LoadModule:
    name: str            # as written: "sl.so", "sl", "/path/mod.py"
    pos: Pos
    order: int = 0       # place in the config (token index): modparam must come after


@dataclass(slots=True)
class ModParam:
    module: str
    param: str
    value: Union[int, str]
    pos: Pos
    order: int = 0
    text: str = ""       # a number as written ("0660"), for string parameters


@dataclass(slots=True)
class Route:
    """kind: request | route | failure | branch | onreply | reply | onsend | event"""
    kind: str
    name: Optional[str]   # None for request_route, reply_route, onsend_route
    body: list
    pos: Pos


@dataclass(slots=True)
class Config:
    params: list = field(default_factory=list)       # list[CoreParam]
    loadmodules: list = field(default_factory=list)  # list[LoadModule]
    modparams: list = field(default_factory=list)    # list[ModParam]
    routes: list = field(default_factory=list)       # list[Route]
    defines: dict = field(default_factory=dict)      # final #!define table: name -> str|None
