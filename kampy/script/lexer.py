# SPDX-License-Identifier: GPL-2.0-or-later
"""Preprocessor and tokenizer for Kamailio's config language.

Directives (`#!define`, `#!ifdef`, `#!subst`, `include_file`, ...) are handled
while scanning, in one pass, as Kamailio's own lexer does: a define only
applies to text after it, and an include's tokens land where the include is.
Every token keeps the file, line and column it came from so that later stages
can point at the source; tokens produced by a define carry the position where
the define was used.
"""

import bisect
import os
import re

from .ast import ConfigError, ConfigErrors, Pos
from .pvparse import parse_pv

__all__ = ["Token", "tokenize", "tokenize_text", "lex_text"]


class Token:
    """One token.  `text` is the source text (for rebuilding socket specs),
    `space` tells whether whitespace preceded it, `quote` is the quote
    character of a STR."""

    __slots__ = ("kind", "value", "pos", "quote", "text", "space")

    def __init__(self, kind, value, pos, quote=None, text="", space=False):
        self.kind = kind
        self.value = value
        self.pos = pos
        self.quote = quote
        self.text = text
        self.space = space

    def __repr__(self):
        return "Token(%s, %r, %s)" % (self.kind, self.value, self.pos)


_HEADERS = frozenset(("KAMAILIO", "KAMPY", "OPENSER", "SER", "MAXCOMPAT", "ALL"))
_DIRECTIVES = frozenset((
    "define", "trydef", "redefine", "ifdef", "ifndef", "else", "endif",
    "subst", "substdef", "substdefs", "defenv", "trydefenv", "defenvs",
    "trydefenvs", "include_file", "import_file")) | _HEADERS
_OPS2 = frozenset((":=", "==", "!=", "=~", "!~", "<=", ">=", "<<", ">>", "&&", "||"))
_OPS1 = frozenset("(){}[];,:=<>+-*/%|&^~!.")
_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS_RE = re.compile(r"[0-9]+")
# an address, optionally with a network mask as a length or as an address
_IPV4_RE = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
                      r"(?:/(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\d{1,3}))?")
_IPV6_RE = re.compile(r"\[[0-9A-Fa-f:.]*\](?:/\d{1,3})?")
# Kamailio's numbers (cfg.lex): 0x1F hex, 0755 octal, 101b binary, else decimal.
# The alternatives are tried in this order; a number glued to letters or
# digits it cannot hold ("08", "12ab") is a NUM_ID there, a word here.
_NUM_RE = re.compile(r"(0[xX][0-9A-Fa-f]+)|([01]+b)|(0[0-7]+)|([0-9]+)")
_NUM_BASES = (16, 2, 8, 10)
_ENV_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=\s*([A-Za-z_][A-Za-z0-9_]*))?$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}
_MAX_DEFINE_DEPTH = 32
_MAX_EXPANSIONS = 200000
_MAX_INCLUDE_DEPTH = 40


def _strip_comment(s: str) -> str:
    """Cut a trailing `#` or `//` comment that is outside quotes."""
    q = None
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            if c == "\\":
                i += 1
            elif c == q:
                q = None
        elif c in "\"'":
            q = c
        elif c == "#":
            return s[:i].rstrip()
        elif c == "/" and s.startswith("//", i) and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
        i += 1
    return s.rstrip()


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _subst_repl(template: str):
    """Turn a `\\N` style replacement into a function for re.sub."""
    pieces = []
    i = 0
    lit = []
    while i < len(template):
        c = template[i]
        if c == "\\" and i + 1 < len(template):
            d = template[i + 1]
            if d.isdigit() and d.isascii():
                if lit:
                    pieces.append("".join(lit))
                    lit = []
                pieces.append(int(d))
            else:
                lit.append(d if d == "\\" else c + d)
            i += 2
            continue
        lit.append(c)
        i += 1
    if lit:
        pieces.append("".join(lit))

    def repl(m):
        out = []
        for p in pieces:
            if isinstance(p, int):
                try:
                    out.append(m.group(p) or "")
                except IndexError:
                    pass
            else:
                out.append(p)
        return "".join(out)
    return repl


class _Lexer:
    def __init__(self, defines):
        self.defines = {"KAMPY": None}
        if defines:
            self.defines.update(defines)
        self.substs = []
        self.errors = []
        self.stack = []
        self.expansions = 0
        self.seen = set()

    def err(self, pos, msg):
        key = (pos, msg)
        if key not in self.seen:      # a define used twice must not repeat its error
            self.seen.add(key)
            self.errors.append(ConfigError(pos, msg))

    # -- strings -------------------------------------------------------------------

    def read_string(self, text, i):
        """text[i] is a quote; returns (decoded, end) or (None, end) if open."""
        q = text[i]
        out = []
        j = i + 1
        n = len(text)
        while j < n:
            c = text[j]
            if c == q:
                return "".join(out), j + 1
            if c == "\\" and j + 1 < n:
                d = text[j + 1]
                if d == q:
                    out.append(q)
                elif d in _ESCAPES:
                    out.append(_ESCAPES[d])
                elif d == "\n":
                    pass
                elif d == "\r" and text.startswith("\r\n", j + 1):
                    j += 1
                else:
                    out.append(c + d)
                j += 2
                continue
            out.append(c)
            j += 1
        return None, n

    def apply_substs(self, s):
        for rx, repl, glob in self.substs:
            s = rx.sub(repl, s, count=0 if glob else 1)
        return s

    # -- directives ----------------------------------------------------------------

    @staticmethod
    def directive_line(text, j, continued):
        """Rest of the directive line from j; returns (line, index after it)."""
        parts = []
        n = len(text)
        while True:
            e = text.find("\n", j)
            if e < 0:
                e = n
            line = text[j:e].rstrip("\r")
            if continued and line.endswith("\\") and e < n:
                parts.append(line[:-1])
                j = e + 1
                continue
            parts.append(line)
            return " ".join(parts), min(e + 1, n)

    def define(self, pos, name, value, mode):
        if mode == "define" and name in self.defines:
            self.err(pos, "'%s' already defined" % name)
        elif mode == "trydef" and name in self.defines:
            pass
        else:
            self.defines[name] = value

    def parse_subst(self, pos, word, rest):
        rest = rest.strip()
        if len(rest) < 2 or rest[0] not in "\"'":
            self.err(pos, "#!%s needs a quoted \"/regex/replacement/flags\"" % word)
            return
        end = 1
        while end < len(rest) and rest[end] != rest[0]:
            end += 2 if rest[end] == "\\" else 1
        if end >= len(rest):
            self.err(pos, "unterminated string in #!%s" % word)
            return
        if _strip_comment(rest[end + 1:]):
            self.err(pos, "unexpected text after #!%s expression" % word)
            return
        body = rest[1:end]
        if not body:
            self.err(pos, "empty #!%s expression" % word)
            return
        delim = body[0]
        parts, cur, k = [], [], 1
        while k < len(body):
            c = body[k]
            if c == "\\" and k + 1 < len(body):
                cur.append(delim if body[k + 1] == delim else c + body[k + 1])
                k += 2
                continue
            if c == delim and len(parts) < 2:
                parts.append("".join(cur))
                cur = []
            else:
                cur.append(c)
            k += 1
        if len(parts) < 2 or not parts[0]:
            self.err(pos, "bad #!%s expression '%s'" % (word, body))
            return
        regex, repl = parts
        flags = "".join(cur)
        bad = [f for f in flags if f not in "gis"]
        if bad:
            self.err(pos, "bad flag '%s' in #!%s" % (bad[0], word))
            return
        try:
            rx = re.compile(regex, re.I if "i" in flags else 0)
        except (re.error, OverflowError, RecursionError) as e:
            self.err(pos, "bad regular expression in #!%s: %s" % (word, e))
            return
        self.substs.append((rx, _subst_repl(repl), "g" in flags))
        if word == "substdef":
            self.define(pos, regex, repl, "define")
        elif word == "substdefs":
            self.define(pos, regex, _quote(repl), "define")

    def defenv(self, pos, word, rest):
        m = _ENV_RE.match(_strip_comment(rest).strip())
        if not m:
            self.err(pos, "#!%s needs NAME=ENVVAR" % word)
            return
        name, var = m.group(1), m.group(2) or m.group(1)
        tried = word.startswith("try")
        if var not in os.environ:
            if not tried:
                self.err(pos, "environment variable '%s' is not set" % var)
            return
        value = os.environ[var]
        if word.endswith("s"):
            value = _quote(value)
        self.define(pos, name, value or None, "trydef" if tried else "define")

    def directive(self, text, i, fname, pos, ifstack, active, out):
        """text[i:i+2] is `#!` or `!!`; returns the index after the directive."""
        m = _WORD_RE.match(text, i + 2)
        word = m.group(0) if m else ""
        j = m.end() if m else i + 2
        if not active and word not in ("ifdef", "ifndef", "else", "endif"):
            return j
        if word in _HEADERS:
            return self.directive_line(text, j, False)[1]
        if word not in _DIRECTIVES:
            self.err(pos, "unknown preprocessor directive '%s'" % text[i:j])
            return self.directive_line(text, j, False)[1]
        if word in ("include_file", "import_file"):
            return self.include_stmt(text, j, fname, pos, word, out)
        rest, end = self.directive_line(text, j, word in ("define", "trydef", "redefine"))
        if rest and not rest[0].isspace():
            self.err(pos, "bad preprocessor directive '%s'" % (text[i:j] + rest.split()[0]))
            return end
        if word in ("ifdef", "ifndef"):
            nm = _ID_RE.match(rest.strip())
            name = nm.group(0) if nm else ""
            if not name:
                self.err(pos, "#!%s needs a name" % word)
            elif _strip_comment(rest.strip()[len(name):]):
                self.err(pos, "unexpected text after #!%s %s" % (word, name))
            cond = (name in self.defines) == (word == "ifdef")
            ifstack.append([active, cond, False, pos])
        elif word in ("else", "endif"):
            if _strip_comment(rest):
                self.err(pos, "unexpected text after #!%s" % word)
            if not ifstack:
                self.err(pos, "#!%s without #!ifdef" % word)
            elif word == "endif":
                ifstack.pop()
            elif ifstack[-1][2]:
                self.err(pos, "second #!else for the same #!ifdef")
            else:
                ifstack[-1][2] = True
        elif word in ("define", "trydef", "redefine"):
            body = rest.strip()
            nm = _ID_RE.match(body)
            if not nm:
                self.err(pos, "#!%s needs a name" % word)
                return end
            name = nm.group(0)
            value = body[nm.end():]
            if value and not value[0].isspace() and _strip_comment(value):
                self.err(pos, "bad name in #!%s: '%s'" % (word, body.split()[0]))
                return end
            value = _strip_comment(value).strip() or None
            self.define(pos, name, value, word)
        elif word.startswith("subst"):
            self.parse_subst(pos, word, rest)
        else:
            self.defenv(pos, word, rest)
        return end

    # -- includes ------------------------------------------------------------------

    def include_stmt(self, text, j, fname, pos, word, out):
        n = len(text)
        while j < n and text[j] in " \t\r\n":
            j += 1
        if j >= n or text[j] not in "\"'":
            self.err(pos, "%s needs a quoted file name" % word)
            return j
        path, end = self.read_string(text, j)
        if path is None:
            self.err(pos, "unterminated string")
            return end
        self.include(path, pos, fname, word == "include_file", out)
        return end

    def include(self, path, pos, fname, must, out):
        if not path:
            self.err(pos, "empty file name")
            return
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(fname), path)
        if len(self.stack) >= _MAX_INCLUDE_DEPTH:
            self.err(pos, "includes nested too deeply at '%s'" % path)
            return
        try:
            real = os.path.realpath(path)
            if real in self.stack:
                self.err(pos, "include loop: '%s' is already being included" % path)
                return
            with open(path, encoding="utf-8", errors="replace") as f:
                data = f.read()
        except FileNotFoundError:
            if must:
                self.err(pos, "cannot find included file '%s'" % path)
            return
        except (OSError, ValueError) as e:
            why = getattr(e, "strerror", None) or e
            self.err(pos, "cannot read included file '%s': %s" % (path, why))
            return
        self.stack.append(real)
        try:
            self.scan(data, path, out)
        finally:
            self.stack.pop()

    # -- defines -------------------------------------------------------------------

    def expand(self, name, pos, space, out, chain):
        value = self.defines[name]
        if value is None:
            return
        if name in chain:
            self.err(pos, "define '%s' refers to itself" % name)
            return
        if len(chain) >= _MAX_DEFINE_DEPTH:
            self.err(pos, "defines nested too deeply at '%s'" % name)
            return
        self.expansions += 1
        if self.expansions > _MAX_EXPANSIONS:
            if self.expansions == _MAX_EXPANSIONS + 1:
                self.err(pos, "too many define expansions")
            return
        self.scan(value, pos.file, out, fixed=pos, space0=space, chain=chain + (name,))

    # -- the scanner ---------------------------------------------------------------

    def scan(self, text, fname, out, fixed=None, space0=True, chain=()):
        """Tokenize `text` into `out`.  With `fixed` (a define's value) every
        token gets that position and directives are not recognised."""
        if fixed is None:
            starts = [0] + [m.end() for m in re.finditer("\n", text)]

            def at(k):
                ln = bisect.bisect_right(starts, k)
                return Pos(fname, ln, k - starts[ln - 1] + 1)
        else:
            def at(k):
                return fixed
        ifstack = []
        active = True
        space = space0
        n = len(text)
        i = 0
        while i < n:
            if not active:
                a = text.find("#!", i)
                b = text.find("!!", i)
                k = min(x for x in (a, b, n) if x >= 0)
                if k >= n:
                    break
                i = self.directive(text, k, fname, at(k), ifstack, False, out)
                active = not ifstack or ifstack[-1][0] and (ifstack[-1][1] != ifstack[-1][2])
                continue
            c = text[i]
            if c in " \t\r\n\f\v":
                i += 1
                space = True
                continue
            if c == "#":
                if fixed is None and text.startswith("#!", i) and _WORD_RE.match(text, i + 2):
                    i = self.directive(text, i, fname, at(i), ifstack, True, out)
                    active = not ifstack or ifstack[-1][0] and (ifstack[-1][1] != ifstack[-1][2])
                else:
                    e = text.find("\n", i)
                    i = n if e < 0 else e
                space = True
                continue
            if c == "/" and text.startswith("//", i):
                e = text.find("\n", i)
                i = n if e < 0 else e
                space = True
                continue
            if c == "/" and text.startswith("/*", i):
                e = text.find("*/", i + 2)
                if e < 0:
                    self.err(at(i), "unterminated /* comment")
                    i = n
                else:
                    i = e + 2
                space = True
                continue
            if c == "!" and fixed is None and text.startswith("!!", i):
                m = _WORD_RE.match(text, i + 2)
                if m and m.group(0) in _DIRECTIVES:
                    i = self.directive(text, i, fname, at(i), ifstack, True, out)
                    active = not ifstack or ifstack[-1][0] and (ifstack[-1][1] != ifstack[-1][2])
                    space = True
                    continue
            pos = at(i)
            tok = None
            if c in "\"'":
                value, e = self.read_string(text, i)
                if value is None:
                    self.err(pos, "unterminated string")
                    i = e
                    continue
                tok = Token("STR", self.apply_substs(value), pos, c, text[i:e], space)
            elif c.isdigit() and c.isascii():
                m = _IPV4_RE.match(text, i)
                if m and not (m.end() < n and (text[m.end()].isalnum() or text[m.end()] == "_")) \
                        and not (text.startswith(".", m.end()) and m.end() + 1 < n
                                 and text[m.end() + 1].isalnum()):
                    e = m.end()
                    tok = Token("IP", text[i:e], pos, None, text[i:e], space)
                else:
                    m = _NUM_RE.match(text, i)
                    e = m.end()
                    w = _WORD_RE.match(text, e) or _DIGITS_RE.match(text, e)
                    if w or (m.lastindex == 4 and c == "0" and e - i > 1):
                        # NUM_ID ("08", "12ab", "3com"): a word, as in Kamailio's lexer
                        e = w.end() if w else e
                        tok = Token("ID", text[i:e], pos, None, text[i:e], space)
                    elif e - i > 40:
                        self.err(pos, "number too large")
                        i = e
                        continue
                    else:
                        base = _NUM_BASES[m.lastindex - 1]
                        digits = m.group(0)
                        if base == 2:
                            digits = digits[:-1]
                        elif base == 16:
                            digits = digits[2:]
                        tok = Token("INT", int(digits, base), pos, None, text[i:e], space)
            elif c == "$":
                try:
                    spec, e = parse_pv(text, i, pos)
                except ConfigError as ex:
                    self.errors.append(ex)
                    m = _WORD_RE.match(text, i + 1)
                    i = m.end() if m else i + (2 if text.startswith("$$", i) else 1)
                    space = False
                    continue
                if fixed is not None:
                    spec.pos = fixed
                tok = Token("PV", spec, pos, None, text[i:e], space)
            elif c == "_" or (c.isalpha() and c.isascii()):
                m = _ID_RE.match(text, i)
                e = m.end()
                word = m.group(0)
                if fixed is None and word in ("include_file", "import_file"):
                    i = self.include_stmt(text, e, fname, pos, word, out)
                    space = True
                    continue
                if word in self.defines:
                    self.expand(word, pos, space, out, chain)
                    i = e
                    space = False
                    continue
                tok = Token("ID", word, pos, None, word, space)
            elif c == "[" and _IPV6_RE.match(text, i) and \
                    _IPV6_RE.match(text, i).group(0).count(":") >= 2:
                e = _IPV6_RE.match(text, i).end()
                tok = Token("IP", text[i:e], pos, None, text[i:e], space)
            elif text[i:i + 2] in _OPS2:
                e = i + 2
                tok = Token("OP", text[i:e], pos, None, text[i:e], space)
            elif c in _OPS1:
                e = i + 1
                tok = Token("OP", c, pos, None, c, space)
            else:
                self.err(pos, "unexpected character %r" % c)
                i += 1
                continue
            out.append(tok)
            space = False
            i = e
        for entry in ifstack:
            self.err(entry[3], "#!ifdef without #!endif")
        return out


def _merge_strings(tokens):
    """Adjacent string literals are one string, as in Kamailio."""
    out = []
    for t in tokens:
        if t.kind == "STR" and out and out[-1].kind == "STR":
            p = out[-1]
            out[-1] = Token("STR", p.value + t.value, p.pos, p.quote,
                            p.text + " " + t.text, p.space)
        else:
            out.append(t)
    return out


def _end_pos(text, fname):
    lines = text.split("\n")
    return Pos(fname, len(lines), len(lines[-1]) + 1)


def lex_text(text: str, filename: str, defines=None, real=None):
    """Tokenize without raising: returns (tokens, defines, errors)."""
    lx = _Lexer(defines)
    lx.stack.append(real or os.path.realpath(filename))
    out = []
    lx.scan(text, filename, out)
    tokens = _merge_strings(out)
    tokens.append(Token("EOF", None, _end_pos(text, filename), text="", space=True))
    return tokens, dict(lx.defines), lx.errors


def _read_main(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except (OSError, ValueError) as e:
        raise ConfigErrors([ConfigError(None, "cannot read config file '%s': %s"
                                        % (path, getattr(e, "strerror", None) or e))])


def tokenize_text(text: str, filename: str, defines: dict | None = None):
    tokens, defs, errors = lex_text(text, filename, defines)
    if errors:
        raise ConfigErrors(errors)
    return tokens, defs


def tokenize(path: str, defines: dict | None = None):
    return tokenize_text(_read_main(path), path, defines)
