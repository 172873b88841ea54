# SPDX-License-Identifier: GPL-2.0-or-later
"""Building messages: replies to requests, new requests, Via values, ids.

Builders return bytes ready for the wire.  Identifiers come from os.urandom,
so nothing here keeps state between calls.
"""

import binascii
import os

from .headers import display_name, header_key, split_list

MAGIC = b"z9hG4bK"

REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded",
    182: "Queued", 183: "Session Progress", 199: "Early Dialog Terminated",
    200: "OK", 202: "Accepted", 204: "No Notification",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 412: "Conditional Request Failed",
    413: "Request Entity Too Large", 414: "Request-URI Too Long",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority", 420: "Bad Extension",
    421: "Extension Required", 422: "Session Interval Too Small",
    423: "Interval Too Brief", 428: "Use Identity Header",
    429: "Provide Referrer Identity", 433: "Anonymity Disallowed",
    436: "Bad Identity-Info", 437: "Unsupported Certificate",
    438: "Invalid Identity Header", 439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded", 469: "Bad Info Package",
    470: "Consent Needed", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
    483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    494: "Security Agreement Required", 500: "Server Internal Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 580: "Precondition Failure",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def _hex(n: int) -> bytes:
    return binascii.hexlify(os.urandom(n))


def make_branch() -> bytes:
    """A fresh RFC 3261 branch: the magic cookie and 64 random bits."""
    return MAGIC + _hex(8)


def make_tag() -> bytes:
    return _hex(8)


def make_call_id(host=None) -> bytes:
    cid = _hex(12)
    if host:
        cid += b"@" + (host.encode() if isinstance(host, str) else host)
    return cid


def _b(v) -> bytes:
    if v is None:
        return b""
    if isinstance(v, bytes):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    return str(v).encode()


def format_hostport(host, port=None) -> bytes:
    host = _b(host)
    if b":" in host and not host.startswith(b"["):
        host = b"[" + host + b"]"
    return host if port is None else host + b":%d" % int(port)


def via_value(host, port=None, branch=None, transport="UDP", rport=True, params=b"") -> bytes:
    """`SIP/2.0/UDP host:port;branch=z9hG4bK...;rport` for a request we send."""
    v = b"SIP/2.0/" + _b(transport).upper() + b" " + format_hostport(host, port)
    v += b";branch=" + (_b(branch) or make_branch())
    if rport:
        v += b";rport"
    return v + _b(params)


def name_addr(uri, display=None, params=b"") -> bytes:
    d = _b(display)
    return (d + b" <" if d else b"<") + _b(uri) + b">" + _b(params)


def _header_lines(headers) -> list:
    """Extra headers given as a dict, (name, value) pairs or raw lines."""
    out = []
    if not headers:
        return out
    if isinstance(headers, dict):
        headers = headers.items()
    for h in headers:
        if isinstance(h, tuple):
            name, value = h
            out.append(_b(display_name(header_key(name)) if isinstance(name, str) else name) + b": " + _b(value))
        else:
            raw = _b(h)
            out.extend(line for line in raw.replace(b"\r\n", b"\n").split(b"\n") if line)
    return out


_REPLY_KEYS = frozenset(("via", "from", "to", "call-id", "cseq", "record-route"))


def make_reply(req, code: int, reason=None, to_tag=None, headers=(), body=b"",
               content_type=None, top_via=None, server=None) -> bytes:
    """A reply to `req` per RFC 3261 §8.2.6: its Vias, From, Call-ID, CSeq, To.

    `to_tag` is added to To when it has none (not for 100 Trying); `top_via`
    replaces the first Via value (received/rport filled by the transport).
    Record-Route is copied into 1xx/2xx replies, which may set up a dialog.
    """
    reason = _b(reason if reason is not None else REASONS.get(code, "Unknown"))
    out = [b"SIP/2.0 %d " % code + reason]
    append = out.append
    lines = req._lines
    first_via = top_via is not None
    copy_rr = code < 300
    tag = _b(to_tag) if to_tag and code > 100 else None
    wanted = _REPLY_KEYS
    for i, key in enumerate(req._keys):
        if key not in wanted:
            continue
        line = lines[i]
        folded = b"\n" in line
        if key == "via":
            if first_via:
                first_via = False
                v = req._val(i)
                rest = split_list(v, brackets=False)[1:] if b"," in v else []
                append(b"Via: " + b", ".join([_b(top_via)] + rest))
            else:
                append(b"Via: " + req._val(i) if folded else line)
        elif key == "to":
            if tag is not None and req.to_tag is None:
                append(b"To: " + req._val(i) + b";tag=" + tag)
            else:
                append(b"To: " + req._val(i) if folded else line)
        elif key != "record-route" or copy_rr:
            append(display_name(key).encode() + b": " + req._val(i) if folded else line)
    if headers:
        out.extend(_header_lines(headers))
    if server:
        append(b"Server: " + _b(server))
    body = _b(body)
    if body and content_type:
        append(b"Content-Type: " + _b(content_type))
    append(b"Content-Length: %d" % len(body))
    append(b"")
    return b"\r\n".join(out) + b"\r\n" + body


def make_request(method, ruri, from_uri, to_uri, *, via_host, via_port=None,
                 transport="UDP", branch=None, from_display=None, to_display=None,
                 from_tag=None, to_tag=None, call_id=None, cseq=1, max_forwards=70,
                 contact=None, headers=(), body=b"", content_type=None,
                 user_agent=None, rport=True, route=()) -> bytes:
    """A new request.  Header order is Kamailio's for requests it sends itself:
    Via, [Route], To, From, CSeq, Call-ID, Max-Forwards, [Contact],
    Content-Length, User-Agent, extra headers, then the body."""
    method = _b(method)
    body = _b(body)
    from_tag = make_tag() if from_tag is None else _b(from_tag)
    out = [method + b" " + _b(ruri) + b" SIP/2.0",
           b"Via: " + via_value(via_host, via_port, branch, transport, rport)]
    for r in route:
        out.append(b"Route: " + _b(r))
    to_params = b";tag=" + _b(to_tag) if to_tag else b""
    out.append(b"To: " + name_addr(to_uri, to_display, to_params))
    out.append(b"From: " + name_addr(from_uri, from_display, b";tag=" + from_tag if from_tag else b""))
    out.append(b"CSeq: %d " % int(cseq) + method)
    out.append(b"Call-ID: " + (_b(call_id) if call_id else make_call_id(via_host)))
    out.append(b"Max-Forwards: %d" % int(max_forwards))
    if contact:
        c = _b(contact)
        out.append(b"Contact: " + (c if c.startswith(b"<") or c == b"*" else b"<" + c + b">"))
    if body and content_type:
        out.append(b"Content-Type: " + _b(content_type))
    out.append(b"Content-Length: %d" % len(body))
    if user_agent:
        out.append(b"User-Agent: " + _b(user_agent))
    out.extend(_header_lines(headers))
    out.append(b"")
    return b"\r\n".join(out) + b"\r\n" + body
