# SPDX-License-Identifier: GPL-2.0-or-later
"""Values inside comma-separated header fields: append, insert, remove,
assign, include, exclude, test.

A header field spec is `NAME[IDX].PARAM` (IDX and PARAM optional): IDX
counts the comma-separated values across every header of that name, from 1
(negative from the end, `*` for all); PARAM is a `;param` of the value.  The
"2" variants (remove_hf_value2, assign_hf_value2) treat a whole header body
as one value, for Authorization-style headers whose commas separate params.

Edits are kept per header line in ctx.data, so several functions on one
line combine, and are written as whole-line replacements; reads of the
message ($hdr, hf_value_exists()) still see it as received, as in Kamailio.
One difference: an index counts the values as the earlier functions of this
module left them for this message (Kamailio counts the received values, and
its edits of one line are byte patches that do not see each other).
"""

import re

from kampy.module import Fmt, Str
from kampy.script.ast import ConfigError
from kampy.script.pv import s2b
from kampy.sip.errors import ParseError
from kampy.sip.headers import display_name, header_key

KEY = "textopsx.hfv"
_SPEC_RE = re.compile(r"\s*([^\s\[\].]+)\s*(?:\[\s*(\*|[-+]?\d+)\s*\])?\s*(?:\.\s*([^\s]+))?\s*\Z")


class Spec:
    __slots__ = ("key", "name", "idx", "param")

    def __init__(self, key, name, idx, param):
        self.key = key          # canonical header key
        self.name = name        # spelling for a new header
        self.idx = idx          # None, "*" or a non-zero int
        self.param = param      # bytes or None


_SPECS = {}


def parse_spec(text: str) -> Spec:
    """`foo[2].bar` -> Spec; ValueError when it is not one."""
    s = _SPECS.get(text)
    if s is not None:
        return s
    m = _SPEC_RE.match(text)
    if m is None:
        raise ValueError("not NAME[IDX].PARAM")
    name, idx, param = m.groups()
    name = name.replace("_", "-")
    try:
        key = header_key(name)
    except ParseError:
        raise ValueError("bad header name %r" % name) from None
    if idx is not None and idx != "*":
        idx = int(idx)
        if idx == 0:
            raise ValueError("the index counts from 1")
    s = Spec(key, display_name(key) if key != name.lower() else name, idx, s2b(param) if param else None)
    _SPECS[text] = s
    return s


def spec_fixup(fname, allow_param=True):
    def fixup(args, pos):
        a = args[0]
        try:
            s = parse_spec(str(a.value))
        except ValueError as e:
            raise ConfigError(a.pos, "%s: bad header field %r: %s" % (fname, a.value, e)) from None
        if s.param is not None and not allow_param:
            raise ConfigError(a.pos, "%s: %r: a parameter is not allowed here" % (fname, a.value))
        return args
    return fixup


# --- the header lines of one message, as edited so far --------------------------------------

class _Lines:
    __slots__ = ("raw", "cur")

    def __init__(self, raw):
        self.raw = raw
        self.cur = {}     # position -> current value (bytes) or None when removed


def _state(ctx):
    st = ctx.data.get(KEY)
    if st is None or st.raw is not ctx.msg.raw:
        st = ctx.data[KEY] = _Lines(ctx.msg.raw)
    return st


def _lines(ctx, key):
    """[(position, current value)] of the live header lines called key."""
    st = _state(ctx)
    out = []
    msg = ctx.msg
    for p, received in zip(msg.positions(key), msg.headers(key)):
        v = st.cur.get(p, received)
        if v is not None:
            out.append((p, v))
    return out


def _write(ctx, pos, value):
    """Set a line's value (None removes the line)."""
    st = _state(ctx)
    st.cur[pos] = value
    if value is None or not value.strip():
        st.cur[pos] = None
        ctx.msg.remove_header_at(pos)
    else:
        ctx.msg.set_header_value(pos, value)


def split_values(v: bytes) -> list:
    """The comma-separated values of a header body (quotes and <> respected),
    trimmed; empty ones dropped."""
    out = []
    cur = bytearray()
    q = ang = False
    i = 0
    while i < len(v):
        c = v[i]
        if q:
            if c == 0x5C and i + 1 < len(v):
                cur += v[i:i + 2]
                i += 2
                continue
            if c == 0x22:
                q = False
        elif c == 0x22:
            q = True
        elif c == 0x3C:
            ang = True
        elif c == 0x3E:
            ang = False
        elif c == 0x2C and not ang:
            out.append(bytes(cur).strip())
            cur = bytearray()
            i += 1
            continue
        cur.append(c)
        i += 1
    out.append(bytes(cur).strip())
    return [x for x in out if x]


def _values(ctx, key, whole=False):
    """[(line position, [values])] in message order."""
    return [(p, [v.strip()] if whole else split_values(v)) for p, v in _lines(ctx, key)]


def _flat(lines):
    """[(line index in lines, value index)] for every value, in order."""
    return [(li, vi) for li, (_p, vals) in enumerate(lines) for vi in range(len(vals))]


def _pick(flat, idx):
    """Positions in flat chosen by idx (1-based, negative from the end, "*")."""
    if idx == "*":
        return list(range(len(flat)))
    if idx is None:
        idx = 1
    k = idx - 1 if idx > 0 else len(flat) + idx
    return [k] if 0 <= k < len(flat) else []


def _commit(ctx, lines, touched):
    for li in touched:
        p, vals = lines[li]
        _write(ctx, p, b", ".join(vals) if vals else None)


# --- params of one value ------------------------------------------------------------------------

def _split_params(v: bytes) -> list:
    """value;a=b;c -> [b"value", b"a=b", b"c"] (quotes respected)."""
    out = []
    cur = bytearray()
    q = ang = False
    for c in v:
        if c == 0x22:
            q = not q
        elif not q and c == 0x3C:
            ang = True
        elif not q and c == 0x3E:
            ang = False
        if c == 0x3B and not q and not ang:
            out.append(bytes(cur))
            cur = bytearray()
            continue
        cur.append(c)
    out.append(bytes(cur))
    return out


def _pname(p: bytes) -> bytes:
    return p.split(b"=", 1)[0].strip().lower()


def _remove_param(v: bytes, name: bytes) -> bytes:
    ps = _split_params(v)
    keep = [ps[0]] + [p for p in ps[1:] if _pname(p) != name.lower()]
    return b";".join(keep)


def _assign_param(v: bytes, name: bytes, value: bytes) -> bytes:
    ps = _split_params(v)
    new = name + (b"=" + value if value else b"")
    for i in range(1, len(ps)):
        if _pname(ps[i]) == name.lower():
            ps[i] = new
            return b";".join(ps)
    return b";".join(ps + [new])


# --- functions ---------------------------------------------------------------------------------

def _new_header(ctx, spec, value: bytes, top: bool):
    line = s2b(spec.name) + b": " + value
    msg = ctx.msg
    if top:
        pos = msg.positions(spec.key)
        if pos:
            msg.append_header(line, before=pos[0])
        else:
            msg.insert_header(line)
    else:
        msg.append_header(line)


def append_hf_value(ctx, hf: Str, value: Fmt) -> int:
    """append_hf_value(hf, hvalue): without an index a new header goes at the
    end; with one, the value goes after that value (a new header when there
    is no such value)"""
    spec = parse_spec(hf)
    v = s2b(value)
    if spec.idx is None:
        _new_header(ctx, spec, v, top=False)
        return 1
    lines = _values(ctx, spec.key)
    flat = _flat(lines)
    picked = _pick(flat, spec.idx if spec.idx != "*" else -1)
    if not picked:
        _new_header(ctx, spec, v, top=False)
        return 1
    li, vi = flat[picked[-1]]
    lines[li][1].insert(vi + 1, v)
    _commit(ctx, lines, [li])
    return 1


def insert_hf_value(ctx, hf: Str, value: Fmt) -> int:
    """insert_hf_value(hf, hvalue): without an index a new header goes before
    the first one of that name; with one, the value goes before that value"""
    spec = parse_spec(hf)
    v = s2b(value)
    if spec.idx is None:
        _new_header(ctx, spec, v, top=True)
        return 1
    lines = _values(ctx, spec.key)
    flat = _flat(lines)
    picked = _pick(flat, spec.idx if spec.idx != "*" else 1)
    if not picked:
        _new_header(ctx, spec, v, top=True)
        return 1
    li, vi = flat[picked[0]]
    lines[li][1].insert(vi, v)
    _commit(ctx, lines, [li])
    return 1


def _remove(ctx, hf, whole) -> int:
    spec = parse_spec(hf)
    lines = _values(ctx, spec.key, whole)
    flat = _flat(lines)
    picked = _pick(flat, spec.idx)
    if not picked:
        return -1
    touched = set()
    for k in sorted(picked, reverse=True):
        li, vi = flat[k]
        vals = lines[li][1]
        if spec.param is None:
            del vals[vi]
        else:
            vals[vi] = _remove_param(vals[vi], spec.param)
        touched.add(li)
    _commit(ctx, lines, sorted(touched))
    return 1


def remove_hf_value(ctx, hf: Str) -> int:
    """remove_hf_value(hf_par): a value (the first without an index) or a
    parameter of it; a header left empty is removed"""
    return _remove(ctx, hf, False)


def remove_hf_value2(ctx, hf: Str) -> int:
    """remove_hf_value2(hf_par): the same, a whole header being one value"""
    return _remove(ctx, hf, True)


def _assign(ctx, hf, value, whole) -> int:
    spec = parse_spec(hf)
    v = s2b(value)
    lines = _values(ctx, spec.key, whole)
    flat = _flat(lines)
    picked = _pick(flat, spec.idx)
    if not picked:
        return -1
    touched = set()
    for k in picked:
        li, vi = flat[k]
        vals = lines[li][1]
        if spec.param is None:
            vals[vi] = v
        else:
            vals[vi] = _assign_param(vals[vi], spec.param, v)
        touched.add(li)
    for li in touched:
        p, vals = lines[li]
        joined = b", ".join(x for x in vals if x)
        _write_keep_empty(ctx, p, joined)
    return 1


def _write_keep_empty(ctx, pos, value):
    """assign with "" leaves the header with an empty value, as Kamailio does."""
    st = _state(ctx)
    st.cur[pos] = value
    line_name = ctx.msg.header_fields()[pos][1]
    ctx.msg.replace_header_at(pos, line_name + b": " + value if value else line_name + b":")


def assign_hf_value(ctx, hf: Str, value: Fmt) -> int:
    """assign_hf_value(hf, hvalue): set a value (or a parameter of it; an
    empty value gives a parameter without "=")"""
    return _assign(ctx, hf, value, False)


def assign_hf_value2(ctx, hf: Str, value: Fmt) -> int:
    """assign_hf_value2(hf, hvalue): the same, a whole header being one value"""
    return _assign(ctx, hf, value, True)


def _same(a: bytes, b: bytes) -> bool:
    return a.strip().lower() == b.strip().lower()


def include_hf_value(ctx, hf: Str, value: Fmt) -> int:
    """include_hf_value(hf, hvalue): add the value unless it is there (to the
    last such header, or a new one)"""
    spec = parse_spec(hf)
    v = s2b(value)
    lines = _values(ctx, spec.key)
    if any(_same(x, v) for _p, vals in lines for x in vals):
        return 1
    if not lines:
        _new_header(ctx, spec, v, top=False)
        return 1
    lines[-1][1].append(v)
    _commit(ctx, lines, [len(lines) - 1])
    return 1


def exclude_hf_value(ctx, hf: Str, value: Fmt) -> int:
    """exclude_hf_value(hf, hvalue): remove every value equal to hvalue"""
    spec = parse_spec(hf)
    v = s2b(value)
    lines = _values(ctx, spec.key)
    touched = []
    for li, (_p, vals) in enumerate(lines):
        keep = [x for x in vals if not _same(x, v)]
        if len(keep) != len(vals):
            vals[:] = keep
            touched.append(li)
    if not touched:
        return -1
    _commit(ctx, lines, touched)
    return 1


def hf_value_exists(ctx, hf: Str, value: Fmt) -> int:
    """hf_value_exists(hf, hvalue): 1 when one of the values is hvalue, in the
    message as received (like every read in Kamailio)"""
    spec = parse_spec(hf)
    v = s2b(value)
    vals = (x for h in ctx.msg.headers(spec.key) for x in split_values(h))
    return 1 if any(_same(x, v) for x in vals) else -1
