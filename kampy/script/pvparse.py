# SPDX-License-Identifier: GPL-2.0-or-later
"""Pseudo-variable syntax: `$name`, `$name(inner)[index]`, `$(name...{tr})`.

The lexer calls `parse_pv` on the config text itself, and string literals go
through `parse_format`, so both see exactly one grammar.  Only the shape is
checked here; what a name or an inner text means is up to the PV registry.
"""

from .ast import ConfigError, Pos, PVSpec, Transform

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_MAX_DEPTH = 16     # PVs nested in indexes and transformation args


def _pos_at(text: str, base: int, pos: Pos, j: int) -> Pos:
    """The position of text[j], given that text[base] is at `pos`."""
    nl = text.rfind("\n", base, j)
    if nl < 0:
        return Pos(pos.file, pos.line, pos.col + (j - base))
    return Pos(pos.file, pos.line + text.count("\n", base, j), j - nl)


def _read_name(text: str, j: int) -> int:
    n = len(text)
    if j >= n or text[j] not in _NAME_START:
        return j
    j += 1
    while j < n and text[j] in _NAME_CHARS:
        j += 1
    return j


def _read_balanced(text: str, j: int, err) -> int:
    """text[j] is `(`; returns the index of its matching `)`.

    A newline ends the search: PV texts never span lines, and stopping there
    keeps a forgotten `)` from swallowing the rest of the file."""
    depth = 0
    n = len(text)
    while j < n:
        c = text[j]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        elif c == "\n":
            break
        j += 1
    raise err("unterminated '(' in pseudo-variable")


def _read_index(text, j, start, pos, depth, strict):
    """text[j] is `[`; returns (index, end) or (None, j) when not an index."""
    n = len(text)
    k = j + 1
    if k < n and text[k] == "*":
        if k + 1 < n and text[k + 1] == "]":
            return "*", k + 2
    elif k < n and text[k] == "$":
        try:
            spec, e = _parse(text, k, _pos_at(text, start, pos, k), depth + 1)
        except ConfigError:
            if strict:
                raise
            return None, j
        if e < n and text[e] == "]":
            return spec, e + 1
    else:
        e = k
        if e < n and text[e] in "+-":
            e += 1
        d = e
        while e < n and text[e].isdigit() and text[e].isascii():
            e += 1
        if e > d and e < n and text[e] == "]":
            return int(text[k:e]), e + 1
    if strict:
        raise ConfigError(_pos_at(text, start, pos, j), "bad index in pseudo-variable")
    return None, j


def _split_top(s: str) -> list:
    """Split on commas outside nested (), {} and [], honouring `\\,`."""
    parts, cur, depth, i = [], [], 0, 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] == ",":
            cur.append(",")
            i += 2
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]" and depth > 0:
            depth -= 1
        elif c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _valid_tr_name(name: str) -> bool:
    pieces = name.split(".")
    if len(pieces) < 2 or not pieces[0] or pieces[0][0] not in _NAME_START:
        return False
    return all(p and all(c in _NAME_CHARS for c in p) for p in pieces)


def _read_transform(text, j, start, pos, depth):
    """text[j] is `{`; returns (Transform, end)."""
    tpos = _pos_at(text, start, pos, j)
    n = len(text)
    k = j + 1
    level = 0
    while k < n:
        c = text[k]
        if c == "\\" and k + 1 < n and text[k + 1] != "\n":
            k += 2
            continue
        if c in "({":
            level += 1
        elif c in ")}":
            if level == 0:
                if c == "}":
                    break
                raise ConfigError(tpos, "unbalanced ')' in transformation")
            level -= 1
        elif c == "\n":
            k = n
            break
        k += 1
    if k >= n:
        raise ConfigError(tpos, "unterminated transformation")
    body = text[j + 1:k]
    parts = _split_top(body)
    name = parts[0].strip()
    if not _valid_tr_name(name):
        raise ConfigError(tpos, "bad transformation name '%s'" % name)
    args = []
    off = j + 1 + len(parts[0]) + 1      # approximate offsets (escaped commas aside)
    for a in parts[1:]:
        if a.startswith("$") and len(a) > 1:
            try:
                spec, e = _parse(a, 0, _pos_at(text, start, pos, min(off, k)), depth + 1)
            except ConfigError:
                spec, e = None, 0
            if spec is not None and e == len(a):
                args.append(spec)
                off += len(a) + 1
                continue
        args.append(a)
        off += len(a) + 1
    return Transform(name=name, args=args, pos=tpos), k + 1


def _parse(text: str, i: int, pos: Pos, depth: int):
    def err(msg, at=i):
        return ConfigError(_pos_at(text, i, pos, at), msg)

    if depth > _MAX_DEPTH:
        raise ConfigError(pos, "pseudo-variable nested too deeply")
    n = len(text)
    if i >= n or text[i] != "$":
        raise ConfigError(pos, "bad pseudo-variable")
    j = i + 1
    if j < n and text[j] == "(":
        # $(name(inner)[index]{tr}...)
        j += 1
        e = _read_name(text, j)
        if e == j:
            raise ConfigError(pos, "bad pseudo-variable")
        name = text[j:e]
        j = e
        inner = None
        index = None
        transforms = []
        if j < n and text[j] == "(":
            close = _read_balanced(text, j, lambda m: err(m, j))
            inner = text[j + 1:close]
            j = close + 1
        if j < n and text[j] == "[":
            index, j = _read_index(text, j, i, pos, depth, True)
        while j < n and text[j] == "{":
            tr, j = _read_transform(text, j, i, pos, depth)
            transforms.append(tr)
        if j >= n or text[j] != ")":
            raise err("expected ')' to close pseudo-variable '%s'" % text[i:j], j)
        j += 1
        return PVSpec(name, inner, index, transforms, pos, text[i:j]), j
    e = _read_name(text, j)
    if e == j:
        raise ConfigError(pos, "bad pseudo-variable")
    name = text[j:e]
    j = e
    inner = None
    index = None
    if j < n and text[j] == "(":
        close = _read_balanced(text, j, lambda m: err(m, j))
        inner = text[j + 1:close]
        j = close + 1
    if j < n and text[j] == "[":
        index, j = _read_index(text, j, i, pos, depth, False)
    return PVSpec(name, inner, index, [], pos, text[i:j]), j


def parse_pv(text: str, i: int, pos: Pos) -> tuple:
    """Parse the PV starting at text[i] (a `$` located at `pos`)."""
    return _parse(text, i, pos, 0)


def parse_format(s: str, pos: Pos) -> list:
    """Split a string literal into literal text and PVSpecs.

    A `$` that starts no valid PV is kept as text, as Kamailio's format
    strings do, so prices like "$5" or a lone "$" survive."""
    out = []
    lit = []
    i = 0
    n = len(s)
    while i < n:
        d = s.find("$", i)
        if d < 0:
            lit.append(s[i:])
            break
        lit.append(s[i:d])
        if d + 1 < n and s[d + 1] == "$":
            lit.append("$$")
            i = d + 2
            continue
        try:
            spec, e = _parse(s, d, _pos_at(s, 0, pos, d), 0)
        except ConfigError:
            lit.append("$")
            i = d + 1
            continue
        if lit:
            text = "".join(lit)
            if text:
                out.append(text)
            lit = []
        out.append(spec)
        i = e
    if lit:
        text = "".join(lit)
        if text:
            out.append(text)
    return out
