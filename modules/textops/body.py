# SPDX-License-Identifier: GPL-2.0-or-later
"""The message body: presence and type checks, a new body, multipart parts,
the hold check on SDP, and a body for the next local reply."""

from kampy.module import Fmt, PVW
from kampy.script.pv import b2s, s2b
from kampy.sip.errors import ParseError
from kampy.sip.headers import parse_content_type, unquote

DEFAULT_BOUNDARY = b"unique-boundary-1"


def _log(ctx, text):
    ctx.rt.log(-1, "textops: " + text)


def _content_type(msg):
    try:
        return msg.content_type
    except ParseError:
        return None


def _mime_match(ct, mime: str) -> bool:
    """ct (ContentType) is mime ("type/subtype", "type/*", "*/*")."""
    t, _, s = mime.strip().lower().partition("/")
    s = s.split(";", 1)[0].strip()
    return (t in ("*", ct.type)) and (s in ("*", "", ct.subtype))


# --- multipart ----------------------------------------------------------------------------

class Part:
    __slots__ = ("raw_start", "raw_end", "headers", "content", "ctype")

    def __init__(self, raw_start, raw_end, headers, content, ctype):
        self.raw_start = raw_start    # offsets in the body: delimiter line start
        self.raw_end = raw_end        # .. up to the next delimiter line
        self.headers = headers        # header bytes of the part
        self.content = content
        self.ctype = ctype            # ContentType or None


def boundary(msg):
    ct = _content_type(msg)
    if ct is None or ct.type != "multipart":
        return None
    b = ct.param("boundary")
    return unquote(b) if b else None


def parts(body: bytes, bnd: bytes) -> list:
    """The parts of a multipart body (RFC 2046 §5.1.1), each with its offsets
    from the "--boundary" line to the CRLF before the next one."""
    delim = b"--" + bnd
    out = []
    i = body.find(delim)
    while i >= 0:
        if i > 0 and body[i - 1:i] != b"\n":
            i = body.find(delim, i + 1)
            continue
        after = i + len(delim)
        if body[after:after + 2] == b"--":
            break                                   # the closing delimiter
        nl = body.find(b"\n", after)
        if nl < 0:
            break
        start = nl + 1
        j = body.find(b"\n" + delim, start - 1)
        if j < 0:
            break
        end = j - 1 if j > 0 and body[j - 1:j] == b"\r" else j   # before the CRLF
        chunk = body[start:end]
        hend = chunk.find(b"\r\n\r\n")
        sep = 4
        if hend < 0:
            hend = chunk.find(b"\n\n")
            sep = 2
        if chunk.startswith(b"\r\n") or chunk.startswith(b"\n"):
            hdrs, content = b"", chunk[2 if chunk.startswith(b"\r\n") else 1:]
        elif hend < 0:
            hdrs, content = chunk, b""
        else:
            hdrs, content = chunk[:hend], chunk[hend + sep:]
        ctype = None
        for ln in hdrs.replace(b"\r\n", b"\n").split(b"\n"):
            name, colon, value = ln.partition(b":")
            if colon and name.strip().lower() in (b"content-type", b"c"):
                try:
                    ctype = parse_content_type(value.strip())
                except ParseError:
                    ctype = None
        out.append(Part(i, j + 1, hdrs, content, ctype))
        i = j + 1
    return out


def _find_part(msg, mime):
    bnd = boundary(msg)
    if bnd is None:
        return None, None
    for p in parts(msg.body, bnd):
        if p.ctype is not None and _mime_match(p.ctype, mime):
            return bnd, p
    return bnd, None


# --- checks -------------------------------------------------------------------------------

def has_body(ctx) -> int:
    """has_body(): Content-Length is there and not 0"""
    msg = ctx.msg
    try:
        cl = msg.content_length
    except ParseError:
        return -1
    return 1 if cl and msg.body else -1


def has_body1(ctx, mime: Fmt) -> int:
    """has_body(mime): and the body (or, for a multipart body, one of its
    parts) is of that type"""
    if has_body(ctx) < 0:
        return -1
    if not mime or mime == "0":
        return 1
    msg = ctx.msg
    ct = _content_type(msg)
    if ct is None:
        # RFC 3261 §20.15: a body without Content-Type is application/sdp
        return 1 if mime.strip().lower() == "application/sdp" else -1
    if _mime_match(ct, mime):
        return 1
    if ct.type == "multipart" and not mime.strip().lower().startswith("multipart/"):
        _b, p = _find_part(msg, mime)
        return 1 if p is not None else -1
    return -1


def is_privacy(ctx, value: Fmt) -> int:
    """is_privacy(privacy_type): value among the Privacy header's ;-list"""
    want = s2b(value.strip().lower())
    for v in ctx.msg.headers("privacy"):
        for item in v.replace(b",", b";").split(b";"):
            if item.strip().lower() == want:
                return 1
    return -1


def is_audio_on_hold(ctx) -> int:
    """is_audio_on_hold(): 1 when an audio stream has a null connection address
    (RFC 2543 hold), 2 when it is sendonly or inactive (RFC 3264)"""
    msg = ctx.msg
    if has_body1(ctx, "application/sdp") < 0:
        return -1
    body = msg.body
    ct = _content_type(msg)
    if ct is not None and ct.type == "multipart":
        _b, p = _find_part(msg, "application/sdp")
        if p is None:
            return -1
        body = p.content
    lines = [ln.strip() for ln in body.replace(b"\r\n", b"\n").split(b"\n")]
    sess_c = None
    sess_dir = None
    streams = []                      # [media line, c, direction]
    for ln in lines:
        if ln.startswith(b"m="):
            streams.append([ln, None, None])
        elif ln.startswith(b"c="):
            if streams:
                streams[-1][1] = ln
            else:
                sess_c = ln
        elif ln in (b"a=sendonly", b"a=inactive", b"a=sendrecv", b"a=recvonly"):
            if streams:
                streams[-1][2] = ln
            else:
                sess_dir = ln
    for m, c, d in streams:
        if not m[2:].startswith(b"audio"):
            continue
        c = c or sess_c
        if c is not None:
            f = c.split()
            if len(f) >= 3 and f[2] in (b"0.0.0.0", b"::"):
                return 1
        d = d or sess_dir
        if d in (b"a=sendonly", b"a=inactive"):
            return 2
    return -1


# --- changing the body ---------------------------------------------------------------------

def set_body(ctx, txt: Fmt, ctype: Fmt) -> int:
    """set_body(txt, content_type): Content-Type and Content-Length follow"""
    if not txt:
        _log(ctx, "set_body: empty body")
        return -1
    ctx.msg.set_body(s2b(txt), ctype or None)
    return 1


def set_reply_body(ctx, txt: Fmt, ctype: Fmt) -> int:
    """set_reply_body(txt, content_type): the body of the next local reply
    (kept in ctx.data["reply_body"] for sl/tm)"""
    if not txt:
        _log(ctx, "set_reply_body: empty body")
        return -1
    ctx.data["reply_body"] = (s2b(txt), ctype)
    return 1


def filter_body(ctx, mime: Fmt) -> int:
    """filter_body(content_type): a multipart body becomes the content of its
    first part of that type"""
    bnd, p = _find_part(ctx.msg, mime)
    if bnd is None:
        _log(ctx, "filter_body: the body is not multipart")
        return -1
    if p is None:
        return -1
    ctx.msg.set_body(p.content)
    return 1


def _part_bytes(txt: bytes, ctype: bytes, cdisp: bytes, bnd: bytes) -> bytes:
    hdr = b"Content-Type: " + ctype
    if cdisp:
        hdr += b"\r\nContent-Disposition: " + cdisp
    return b"--" + bnd + b"\r\n" + hdr + b"\r\n\r\n" + txt + b"\r\n"


def _append_part(ctx, txt: bytes, ctype: str, cdisp: str) -> int:
    msg = ctx.msg
    body = msg.body
    bnd = boundary(msg)
    if bnd is not None:
        close = body.rfind(b"--" + bnd + b"--")
        head = body[:close] if close >= 0 else body
        if head and not head.endswith(b"\n"):
            head += b"\r\n"
        new = head + _part_bytes(txt, s2b(ctype), s2b(cdisp), bnd) + b"--" + bnd + b"--\r\n"
        msg.set_body(new)
        return 1
    bnd = DEFAULT_BOUNDARY
    new = b""
    if body:
        ct = msg.header("content-type") or b"application/sdp"
        new += _part_bytes(body, ct, b"", bnd)
    new += _part_bytes(txt, s2b(ctype), s2b(cdisp), bnd) + b"--" + bnd + b"--\r\n"
    msg.set_body(new, 'multipart/mixed;boundary="%s"' % bnd.decode())
    if not msg.has("mime-version"):
        msg.add_header("MIME-Version", "1.0")
    return 1


def append_body_part(ctx, txt: Fmt, ctype: Fmt) -> int:
    """append_body_part(txt, content_type): a multipart body gets a new part; a
    single body becomes the first part of a multipart/mixed one"""
    return _append_part(ctx, s2b(txt), ctype, "")


def append_body_part3(ctx, txt: Fmt, ctype: Fmt, cdisp: Fmt) -> int:
    """append_body_part(txt, content_type, content_disposition)"""
    return _append_part(ctx, s2b(txt), ctype, cdisp)


def append_body_part_hex(ctx, txt: Fmt, ctype: Fmt) -> int:
    """append_body_part_hex(txt, content_type): txt in hex, spaces ignored"""
    try:
        data = bytes.fromhex(txt.replace(" ", ""))
    except ValueError:
        _log(ctx, "append_body_part_hex: not hex: %r" % txt[:40])
        return -1
    return _append_part(ctx, data, ctype, "")


def append_body_part_hex3(ctx, txt: Fmt, ctype: Fmt, cdisp: Fmt) -> int:
    """append_body_part_hex(txt, content_type, content_disposition)"""
    try:
        data = bytes.fromhex(txt.replace(" ", ""))
    except ValueError:
        _log(ctx, "append_body_part_hex: not hex: %r" % txt[:40])
        return -1
    return _append_part(ctx, data, ctype, cdisp)


def get_body_part(ctx, mime: Fmt, opv: PVW) -> int:
    """get_body_part(content_type, opv): the content of the first such part"""
    _b, p = _find_part(ctx.msg, mime)
    if p is None:
        return -1
    opv.set(ctx, b2s(p.content))
    return 1


def get_body_part_raw(ctx, mime: Fmt, opv: PVW) -> int:
    """get_body_part_raw(content_type, opv): the part with its boundary line
    and headers"""
    _b, p = _find_part(ctx.msg, mime)
    if p is None:
        return -1
    opv.set(ctx, b2s(ctx.msg.body[p.raw_start:p.raw_end]))
    return 1


def remove_body_part(ctx, mime: Fmt) -> int:
    """remove_body_part(content_type): drop the first such part"""
    msg = ctx.msg
    _b, p = _find_part(msg, mime)
    if p is None:
        return -1
    body = msg.body
    msg.set_body(body[:p.raw_start] + body[p.raw_end:])
    return 1
