# SPDX-License-Identifier: GPL-2.0-or-later
"""SIP messages: a lazy parser, read accessors, recorded edits, serializer.

Theory of operation.  `parse()` reads the start line, splits the header
section into lines and builds the index: the key of every line (`_keys`),
by one dict lookup of the name as written (headers.NAME_KEYS); a spelling
not seen before, folding or garbage take a slower, exact path.  Nothing
else.  A header value is parsed the first time an accessor asks for it and
cached; the readers a proxy calls for every message (branch, tags, Call-ID,
CSeq) cut the usual spelling out of the raw line without a regex.

Reads always see the message *as received* (like Kamailio, where `$fu` is the
received From until `msg_apply_changes()`), except the Request-URI, which a
route may rewrite and read back at once (`$ru`).  Edits are recorded against
header positions: a replacement per position (the last one wins, so a
function may run twice on one request), insertions before a position, a new
body.  `serialize()` writes the start line, every untouched header line
byte for byte, the edited ones, and the body; Content-Length follows a new
body.  `apply_changes()` re-parses the serialized bytes in place.
"""

import re
import sys

from . import headers as _headers
from .errors import ParseError
from .headers import (
    NAME_KEYS, SINGLE, display_name, header_key, line_key,
    parse_content_length, parse_name_addr, parse_via_value, parse_cseq,
    parse_max_forwards, parse_expires, parse_content_type, split_list, CSeq,
)
from .uri import parse_uri

# Objects whose methods we call per message are bound here by assignment:
# Python 3.11 compiles `imported_name.method(x)` as an attribute load (a new
# bound method per call, taking it for a module), twice the cost of a call
# on an assigned name.
_KEY_CACHE = _headers._KEY_CACHE
_METHODS = _headers._METHODS
PARSERS = _headers.PARSERS
_HTOKEN_RE = _headers._TOKEN_RE

_TOKEN_RE = re.compile(rb"[A-Za-z0-9\-.!%*_+`'~]+")
_UNFOLD_RE = re.compile(rb"\r?\n[ \t]+")  # linear: anchored on the line end
_MISS = object()
_CL = sys.intern("content-length")   # header keys are interned
_CSEQ_NAMES = frozenset((b"CSeq:", b"CSEQ:", b"cseq:", b"Cseq:"))
# the branch of the first via-parm of a Via value (stops at ',' between values)
_BRANCH_RE = re.compile(rb"[^,]*?;[ \t]*branch[ \t]*=[ \t]*([^;,\s]+)", re.I)
# a tag header parameter (searched after the closing '>' of a name-addr)
_TAG_RE = re.compile(rb";[ \t]*tag[ \t]*=[ \t]*([^;,\s]+)", re.I)


KEEP = object()  # "leave this part as it is" for set_name_addr()


class Message:
    """One SIP request or reply.  Build it with `parse()`."""

    __slots__ = (
        "raw", "first_line", "is_request", "method", "ruri", "version",
        "status", "reason", "_keys", "_lines", "_eol", "_bstart", "_bend",
        "_cache", "_edits", "_branch", "_ftag", "_ttag", "_cseq",
    )
    # _cache: parsed values by header key, the top Via and the R-URI under
    # " name" keys, and the script's per-message values under "$name" keys
    # (kampy.script.pv_core); _branch, _ftag, _ttag, _cseq: the transaction
    # readers' values (_MISS until read)

    # --- reading headers -------------------------------------------------------

    def _val(self, i: int) -> bytes:
        """Value of header line i: after the colon, unfolded, trimmed."""
        v = self._lines[i].partition(b":")[2]     # parse() keeps only lines with a colon
        if 10 in v:   # b"\n", looked for as a byte (the bytes needle costs far more)
            v = _UNFOLD_RE.sub(b" ", v)
        return v.strip(b" \t")

    def _pos(self, key: str) -> list:
        keys = self._keys
        try:
            i = keys.index(key)
        except ValueError:
            return []
        if key not in keys[i + 1:]:
            return [i]      # the usual case: one line of that header
        return [j for j, k in enumerate(keys) if k == key]

    def header(self, name):
        """Value of the first header called `name` (any form), or None."""
        key = _KEY_CACHE.get(name) or header_key(name)
        try:
            i = self._keys.index(key)
        except ValueError:
            return None
        return self._val(i)

    def headers(self, name) -> list:
        """Values of every header line called `name`, in order."""
        return [self._val(i) for i in self._pos(_KEY_CACHE.get(name) or header_key(name))]

    def has(self, name) -> bool:
        return (_KEY_CACHE.get(name) or header_key(name)) in self._keys

    def positions(self, name) -> list:
        """Header positions (indexes into `header_fields()`) of `name`."""
        return self._pos(_KEY_CACHE.get(name) or header_key(name))

    def count(self, name) -> int:
        return self._keys.count(_KEY_CACHE.get(name) or header_key(name))

    def header_fields(self) -> list:
        """[(key, raw name as written, value)] for every received header line."""
        return [(k, line.partition(b":")[0].rstrip(b" \t"), self._val(i))
                for i, (k, line) in enumerate(zip(self._keys, self._lines))]

    def parsed(self, name):
        """The first header line called `name`, parsed by its grammar.

        List headers (Via, Contact, Route, ...) give every value of every line;
        a header we have no grammar for gives its raw value.
        """
        key = _KEY_CACHE.get(name) or header_key(name)
        cache = self._cache
        val = cache.get(key, _MISS)
        if val is not _MISS:
            return val
        p = self._pos(key)
        entry = PARSERS.get(key)
        if not p:
            val = None
        elif entry is None:
            val = self._val(p[0])
        else:
            fn, is_list = entry
            if is_list:
                val = []
                for i in p:
                    v = fn(self._val(i))
                    if v == "*":
                        if len(p) > 1:
                            raise ParseError("Contact * with others")
                        val = v
                        break
                    val.extend(v)
            else:
                val = fn(self._val(p[0]))
        cache[key] = val
        return val

    def _first(self, key, fn):
        v = self._cache.get(key, _MISS)
        if v is _MISS:
            keys = self._keys
            v = self._cache[key] = fn(self._val(keys.index(key))) if key in keys else None
        return v

    # the headers a proxy reads for every message
    @property
    def via(self):
        """The topmost Via value."""
        cache = self._cache
        v = cache.get(" via1")
        if v is None:
            keys = self._keys
            if "via" not in keys:
                return None
            raw = self._val(keys.index("via"))
            if b"," in raw:
                raw = split_list(raw, brackets=False)[0]
            v = cache[" via1"] = parse_via_value(raw)
        return v

    # Fast reads for transaction matching: the usual spelling (`;branch=x`,
    # `>;tag=x`) is cut out of the raw line with bytes.partition (bytes.find
    # costs three times as much); anything unusual (spaces, upper case,
    # folding, several values) goes the slow, exact way.  The values are
    # kept in slots (a dict costs twice as much on the first read).
    @property
    def branch(self):
        """The top Via's branch (None without one)."""
        v = self._branch
        if v is _MISS:
            try:
                i = self._keys.index("via")
            except ValueError:
                v = None
            else:
                line = self._lines[i]
                v = line.partition(b";branch=")[2].partition(b";")[0]
                # 44 is ",": a second via-parm on the line (a byte needle is cheap)
                if 44 in line or not v.isalnum() and not _HTOKEN_RE.fullmatch(v):
                    m = _BRANCH_RE.match(self._val(i))
                    v = m.group(1) if m is not None else None
            self._branch = v
        return v

    @property
    def from_tag(self):
        """The From tag (None without one)."""
        v = self._ftag
        if v is _MISS:
            try:
                i = self._keys.index("from")
            except ValueError:
                v = None
            else:
                # the usual `...>;tag=x`, cut inline (a call costs as much
                # as the cut); a From without a tag is rare (RFC 3261 §8.1.1.3)
                head, sep, v = self._lines[i].rpartition(b";tag=")
                if 59 in v:         # ";": more parameters follow
                    v = v.partition(b";")[0]
                # ">" before: the tag is the first header parameter
                if not sep or head[-1] != 62 or not v.isalnum() and not _HTOKEN_RE.fullmatch(v):
                    v = self._tag_slow(i)
            self._ftag = v
        return v

    @property
    def to_tag(self):
        """The To tag (None without one)."""
        v = self._ttag
        if v is _MISS:
            try:
                i = self._keys.index("to")
            except ValueError:
                v = None
            else:
                line = self._lines[i]
                if line[-1] == 62:      # ends with ">": no header parameters
                    v = None            # (the To of a request starting a dialog)
                else:
                    head, sep, v = line.rpartition(b";tag=")
                    if 59 in v:
                        v = v.partition(b";")[0]
                    if not sep or head[-1] != 62 or not v.isalnum() and not _HTOKEN_RE.fullmatch(v):
                        v = self._tag_slow(i)
            self._ttag = v
        return v

    def _tag_slow(self, i):
        val = self._val(i)
        gt = val.rfind(b">") + 1
        m = _TAG_RE.search(val, gt)
        return m.group(1) if m is not None else None

    @property
    def vias(self) -> list:
        return self.parsed("via") or []

    @property
    def from_(self):
        v = self._cache.get("from", _MISS)
        return self._first("from", parse_name_addr) if v is _MISS else v

    @property
    def to(self):
        v = self._cache.get("to", _MISS)
        return self._first("to", parse_name_addr) if v is _MISS else v

    @property
    def call_id(self):
        try:
            i = self._keys.index("call-id")
        except ValueError:
            return None
        v = self._lines[i].partition(b":")[2].strip(b" \t")
        if 10 in v:
            v = _UNFOLD_RE.sub(b" ", v).strip(b" \t")
        return v

    @property
    def cseq(self):
        v = self._cseq
        if v is _MISS:
            try:
                i = self._keys.index("cseq")
            except ValueError:
                v = None
            else:
                try:
                    name, num, method = self._lines[i].split(b" ")   # the usual "CSeq: 1 INVITE"
                except ValueError:
                    name = None
                v = _METHODS.get(method) if name in _CSEQ_NAMES else None
                if v is not None and num.isdigit() and len(num) < 10:
                    method = v
                    v = _new_message(CSeq)
                    v.number = int(num)
                    v.method = method
                else:
                    v = parse_cseq(self._val(i))
            self._cseq = v
        return v

    @property
    def max_forwards(self):
        return self._first("max-forwards", parse_max_forwards)

    @property
    def expires(self):
        return self._first("expires", parse_expires)

    @property
    def content_type(self):
        return self._first("content-type", parse_content_type)

    @property
    def content_length(self):
        return self._first("content-length", parse_content_length)

    @property
    def contacts(self):
        """List of Contact values, "*" for a wildcard, [] when absent."""
        return self.parsed("contact") or []

    @property
    def routes(self) -> list:
        return self.parsed("route") or []

    @property
    def record_routes(self) -> list:
        return self.parsed("record-route") or []

    @property
    def body(self) -> bytes:
        """The body as received (Content-Length framing applied)."""
        return self.raw[self._bstart:self._bend]

    @property
    def ruri_uri(self):
        """The current Request-URI, parsed (cached until it changes)."""
        cache = self._cache
        u = cache.get(" ruri")
        if u is None or u.raw != self.ruri:
            u = cache[" ruri"] = parse_uri(self.ruri)
        return u

    @property
    def transaction_method(self) -> str:
        if self.is_request:
            return self.method
        cseq = self.cseq
        if cseq is None:
            raise ParseError("missing CSeq")
        return cseq.method

    def __len__(self):
        return self._bend

    def __repr__(self):
        return "<Message %r>" % self.first_line[:80]

    # --- checking -------------------------------------------------------------------

    def validate(self):
        """Full RFC 3261 check of every header we have a grammar for.

        Raises ParseError with the status to answer (RFC 4475's expectations).
        The proxy's receive path parses lazily; this is for the strict callers.
        """
        keys = self._keys
        if self.is_request:
            u = self.ruri_uri
            if u.scheme in ("sip", "sips") and u.headers:
                raise ParseError("headers in Request-URI")
        for key in ("via", "from", "to", "call-id", "cseq"):
            if key not in keys:
                raise ParseError("missing %s" % display_name(key))
        for key in SINGLE:
            if key != "content-length" and keys.count(key) > 1:
                # equal Content-Length duplicates were accepted by framing
                raise ParseError("more than one %s" % display_name(key))
        for i, key in enumerate(keys):
            v = self._val(i)
            entry = PARSERS.get(key)
            if entry is not None:
                entry[0](v)
        self.parsed("contact")
        for na in (self.from_, self.to):
            na.uri
        for c in self.contacts if self.contacts != "*" else ():
            c.uri
            c.expires
            c.q
        for r in self.routes + self.record_routes:
            r.uri
        if self.is_request and self.cseq.method != self.method:
            raise ParseError("CSeq method does not match the request")

    # --- editing ------------------------------------------------------------------------

    def _ed(self):
        e = self._edits
        if e is None:
            e = self._edits = _Edits()
        return e

    @property
    def changed(self) -> bool:
        e = self._edits
        return e is not None and e.any()

    def set_ruri(self, uri):
        """Rewrite the Request-URI; reads of `ruri` see it at once."""
        if isinstance(uri, str):
            uri = uri.encode()
        self.ruri = uri
        self._ed().ruri = True

    def set_status(self, code: int, reason):
        if isinstance(reason, str):
            reason = reason.encode()
        self._ed().status = (code, reason)

    def append_header(self, line, before=None):
        """Add a header line at the end, or before the header at `before`."""
        line = _line(line)
        pos = len(self._lines) if before is None else before
        self._ed().ins.setdefault(pos, []).append(line)

    def insert_header(self, line):
        """Add a header line before the first header."""
        self._ed().ins.setdefault(0, []).insert(0, _line(line))

    def add_header(self, name, value):
        """Append `Name: value`, spelling the name the usual way."""
        if isinstance(name, str):
            name = display_name(header_key(name)).encode()
        if isinstance(value, str):
            value = value.encode()
        self.append_header(name + b": " + value)

    def remove_header(self, name) -> int:
        """Remove every header line called `name`; returns how many."""
        p = self._pos(_KEY_CACHE.get(name) or header_key(name))
        repl = self._ed().repl if p else None
        for i in p:
            repl[i] = None
        return len(p)

    def remove_header_at(self, pos: int):
        self._ed().repl[pos] = None

    def replace_header_at(self, pos: int, line):
        self._ed().repl[pos] = _line(line)

    def set_header_value(self, pos: int, value):
        """Replace a header's value, keeping its name as written."""
        if isinstance(value, str):
            value = value.encode()
        self._ed().repl[pos] = self._lines[pos].partition(b":")[0] + b": " + value

    def set_name_addr(self, name, display=KEEP, uri=KEEP):
        """Change the display name and/or URI of From, To (or another name-addr
        header), keeping tag and other params.  `display=None` removes it.
        Built from the received value, so a second call replaces the first."""
        key = _KEY_CACHE.get(name) or header_key(name)
        try:
            pos = self._keys.index(key)
        except ValueError:
            raise ValueError("no %s header" % display_name(key)) from None
        na = self._first(key, parse_name_addr)
        d = na.display if display is KEEP else display
        u = na.uri_raw if uri is KEEP else uri
        if isinstance(d, str):
            d = d.encode()
        if isinstance(u, str):
            u = u.encode()
        val = (d + b" <" if d else b"<") + u + b">" + na.params
        self.set_header_value(pos, val)

    def set_body(self, body, content_type=None):
        """Replace the body; Content-Length (and Content-Type if given) follow."""
        if isinstance(body, str):
            body = body.encode()
        e = self._ed()
        e.body = body
        if content_type is not None:
            if isinstance(content_type, str):
                content_type = content_type.encode()
            e.ctype = content_type

    def push_via(self, value):
        """Add our Via on top, before the first Via line."""
        if isinstance(value, str):
            value = value.encode()
        keys = self._keys
        pos = keys.index("via") if "via" in keys else 0
        self._ed().ins.setdefault(pos, []).insert(0, b"Via: " + value)

    def pop_via(self):
        """Remove the topmost Via value (a reply leaving this hop)."""
        keys = self._keys
        if "via" not in keys:
            raise ValueError("no Via")
        first = keys.index("via")
        vals = split_list(self._val(first), brackets=False)
        if len(vals) == 1:
            self.remove_header_at(first)
        else:
            self.set_header_value(first, b", ".join(vals[1:]))

    def serialize(self) -> bytes:
        """The message as it goes on the wire, with every edit applied."""
        e = self._edits
        if e is None or not e.any():
            return self.raw if self._bend == len(self.raw) else self.raw[:self._bend]
        eol = self._eol
        if self.is_request:
            first = self.first_line
            if e.ruri:
                first = first.split(b" ", 1)[0] + b" " + self.ruri + b" " + self.version
        elif e.status is not None:
            first = self.version + b" %d " % e.status[0] + e.status[1]
        else:
            first = self.first_line
        repl = e.repl
        ins = e.ins
        if e.body is None and not ins:
            # only replaced or removed lines (From/To, Via, R-URI): no loop
            parts = [first]
            parts += self._lines
            for i, line in repl.items():
                parts[i + 1] = line
            if None in repl.values():
                parts = [p for p in parts if p is not None]
            parts.append(b"")
            return eol.join(parts) + eol + self.raw[self._bstart:self._bend]
        body = self.body if e.body is None else e.body
        parts = [first]
        lines = self._lines
        new_body = e.body is not None
        cl_seen = False
        keys = self._keys
        for i, line in enumerate(lines):
            extra = ins.get(i)
            if extra:
                parts.extend(extra)
            if new_body and keys[i] == "content-length":
                if cl_seen:
                    continue   # one Content-Length for the new body
                line = lines[i].partition(b":")[0] + b": %d" % len(body)
                cl_seen = True
            elif i in repl:
                line = repl[i]
                if line is None:
                    continue
            elif new_body:
                key = keys[i]
                if key == "content-length":
                    if cl_seen:
                        continue   # one Content-Length for the new body
                    line = line.partition(b":")[0] + b": %d" % len(body)
                    cl_seen = True
                elif key == "content-type" and e.ctype is not None:
                    continue
            parts.append(line)
        extra = ins.get(len(lines))
        if extra:
            parts.extend(extra)
        if new_body:
            if e.ctype and body:
                parts.append(b"Content-Type: " + e.ctype)
            if not cl_seen:
                parts.append(b"Content-Length: %d" % len(body))
        parts.append(b"")
        return eol.join(parts) + eol + body

    def apply_changes(self):
        """Re-parse the serialized message in place (`msg_apply_changes()`)."""
        fresh = parse(self.serialize())
        for name in Message.__slots__:
            setattr(self, name, getattr(fresh, name))
        return self


class _Edits:
    __slots__ = ("repl", "ins", "body", "status", "ruri", "ctype")

    def __init__(self):
        self.repl = {}
        self.ins = {}
        self.body = None
        self.status = None
        self.ruri = False
        self.ctype = None     # a new Content-Type with the new body (b"" removes it)

    def any(self):
        return bool(self.repl or self.ins or self.ruri or self.body is not None
                    or self.status is not None)


def _raise(reason):
    raise ParseError(reason)


def _line(line) -> bytes:
    if isinstance(line, str):
        line = line.encode()
    line = line.rstrip(b"\r\n")
    if 10 in line or 13 in line or 58 not in line:   # LF, CR, ":" (byte needles are cheap)
        raise ValueError("a header line is `Name: value` on one line")
    return line


def _split_folded(head: bytes, eol: bytes) -> tuple:
    """Lines of a header section with continuation lines joined (raw, unfolded)."""
    raw_lines = []
    for piece in head.split(eol):
        if piece[:1] in (b" ", b"\t"):
            if not raw_lines:
                raise ParseError("header section starts with a continuation line")
            raw_lines[-1] += eol + piece
        else:
            raw_lines.append(piece)
    return raw_lines


_CRLF = (b"\r", b"\n")
_new_message = object.__new__


def parse(data) -> Message:
    """Parse one SIP message (a UDP datagram's bytes).  Raises ParseError.

    Written for the interpreter: every statement on the usual path (CRLF
    line ends, a known method, SIP/2.0, header names spelled as seen before,
    Content-Length last and once) costs per message, so anything else
    branches off."""
    if data.__class__ is not bytes:
        data = bytes(data)
    hend = data.find(b"\r\n\r\n")
    if hend < 0:
        return _parse_other(data)
    hdr = data[:hend]
    lines = hdr.split(b"\r\n")
    first = lines.pop(0)
    msg = Message()     # no __init__: cheaper than object.__new__(Message)
    msg.raw = data
    msg.first_line = first
    msg._cache = {}
    msg._edits = None
    msg._eol = b"\r\n"
    msg._branch = msg._ftag = msg._ttag = msg._cseq = _MISS
    try:
        method, ruri, version = first.split(b" ", 2)
    except ValueError:
        method = ruri = version = None
    method = _METHODS.get(method)
    if method is not None and version == b"SIP/2.0" and ruri:
        if ruri[0] == 0x3C:
            raise ParseError("bad Request-URI")
        msg.is_request = True
        msg.method = method
        msg.ruri = ruri
        msg.version = b"SIP/2.0"
        msg.status = msg.reason = None
    elif data[:1] in _CRLF:
        return _parse_other(data)     # leading CRLFs (RFC 3261 §7.5) or LF line ends
    else:
        _first_line(msg, first)
    try:
        # p[1] is b"" for a line without a colon, and b"" is no header name
        # (`for p in [x]` is a plain assignment; a walrus would make p a cell)
        keys = [NAME_KEYS[p[1] and p[0]] for line in lines for p in [line.partition(b":")]]
    except KeyError:
        # a spelling not seen before, a continuation line or garbage: go slowly
        lines, keys = _index_slow(hdr.partition(b"\r\n")[2], b"\r\n")
    msg._keys = keys
    msg._lines = lines
    bstart = hend + 4
    msg._bstart = bstart
    # Content-Length: usually the last line, once, written `Content-Length: 330`
    try:
        i = keys.index(_CL)
    except ValueError:
        msg._bend = len(data)  # UDP: the body runs to the end of the datagram
        return msg
    head, _, v = lines[i].partition(b": ")
    if (v.isdigit() and len(v) < 10 and 58 not in head
            and (i == len(keys) - 1 or _CL not in keys[i + 1:])):
        bend = bstart + int(v)
        if bend > len(data):
            raise ParseError("body shorter than Content-Length")
        msg._bend = bend   # RFC 3261 §18.3: extra octets are dropped
    else:
        msg._bend = _framed(msg, data, bstart)
    return msg


def _parse_other(data) -> Message:
    """Leading CRLFs, LF-only line ends, no end of the header section."""
    if data[:1] in _CRLF:
        data = data.lstrip(b"\r\n")  # RFC 3261 §7.5: ignore leading CRLFs
    eol = b"\r\n"
    hend = data.find(b"\r\n\r\n")
    if hend < 0:
        hend = data.find(b"\n\n")
        if hend < 0 or b"\r\n" in data[:hend]:
            raise ParseError("no end of header section")
        eol = b"\n"
    first, _, head = data[:hend].partition(eol)
    msg = _new_message(Message)
    msg.raw = data
    msg.first_line = first
    msg._cache = {}
    msg._edits = None
    msg._eol = eol
    msg._branch = msg._ftag = msg._ttag = msg._cseq = _MISS
    _first_line(msg, first)
    lines, keys = _index_slow(head, eol)
    msg._keys = keys
    msg._lines = lines
    hend += 2 * len(eol)
    msg._bstart = hend
    msg._bend = _framed(msg, data, hend) if "content-length" in keys else len(data)
    return msg


def _first_line(msg, first):
    """The start line, every case (replies, other methods, bad ones)."""
    if first[:4] == b"SIP/":
        parts = first.split(b" ", 2)
        if len(parts) < 2:
            raise ParseError("bad status line")
        version = parts[0]
        code = parts[1]
        if len(code) != 3 or not code.isdigit() or code[0] == 0x30:
            raise ParseError("bad status code")
        if version != b"SIP/2.0" and version.upper() != b"SIP/2.0":
            raise ParseError("unsupported SIP version", 505)
        msg.is_request = False
        msg.status = int(code)
        msg.reason = parts[2] if len(parts) == 3 else b""
        msg.method = None
        msg.ruri = None
    else:
        parts = first.split(b" ")
        if len(parts) != 3:
            raise ParseError("bad request line")
        method, ruri, version = parts
        if version != b"SIP/2.0":
            if version.upper() != b"SIP/2.0":
                if version[:4].upper() == b"SIP/":
                    raise ParseError("unsupported SIP version", 505)
                raise ParseError("bad request line")
        m = _METHODS.get(method)
        if m is None:
            if not _TOKEN_RE.fullmatch(method):
                raise ParseError("bad method")
            m = method.decode("ascii")
        if not ruri or ruri[0] == 0x3C:
            raise ParseError("bad Request-URI")
        msg.is_request = True
        msg.method = m
        msg.ruri = ruri
        msg.status = None
        msg.reason = None
    msg.version = version


def _index_slow(head: bytes, eol: bytes):
    """(lines, keys) of a header section with unknown spellings, folding or
    garbage; a line without a name and a colon is a ParseError."""
    lines = head.split(eol) if head else []
    if any(line[:1] in (b" ", b"\t") for line in lines):
        lines = _split_folded(head, eol)
    return lines, [line_key(line) for line in lines]


def _framed(msg, data: bytes, bstart: int) -> int:
    """End of the body by Content-Length (RFC 3261 §18.3: extra octets of a
    UDP datagram are dropped; fewer are an error)."""
    keys = msg._keys
    v = msg._val(keys.index("content-length"))
    cl = int(v) if v.isdigit() and len(v) < 10 else parse_content_length(v)
    if keys.count("content-length") > 1:
        for i in msg._pos("content-length"):
            if parse_content_length(msg._val(i)) != cl:
                raise ParseError("conflicting Content-Length values")
    if bstart + cl > len(data):
        raise ParseError("body shorter than Content-Length")
    return bstart + cl
