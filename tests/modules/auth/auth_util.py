# SPDX-License-Identifier: GPL-2.0-or-later
"""In-process helpers for the auth tests: a compiled config, requests as a
phone would send them, and answers to challenges made with kampy.sip.digest."""

import re

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import digest, parse

HEAD = """
listen=udp:127.0.0.1:5060
loadmodule "sl"
loadmodule "tm"
loadmodule "auth"
loadmodule "xlog"
loadmodule "textops"
"""

PHONE = ("192.0.2.10", 5062)


def make_rt(body, head=HEAD):
    """A Runtime for HEAD + body, with mod_init run (as the daemon does)."""
    rt = Runtime(compile_text(head + body, "t.cfg"))
    rt.init_modules()
    return rt


def request(method="REGISTER", user="alice", domain="example.org", auth=None,
            hname="Authorization", callid="call-1", cseq=1, body=b"", from_user=None,
            to_user=None, ruri=None, to_tag=None, extra=()):
    """A request from the phone at PHONE (bytes)."""
    from_user = from_user or user
    to_user = to_user or user
    ruri = ruri or ("sip:%s" % domain if method == "REGISTER" else "sip:bob@%s" % domain)
    to = "<sip:%s@%s>" % (to_user, domain) if method == "REGISTER" else "<sip:bob@%s>" % domain
    if method == "REGISTER" and to_user != user:
        to = "<sip:%s@%s>" % (to_user, domain)
    if to_tag:
        to += ";tag=" + to_tag
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s-%d" % (PHONE[0], PHONE[1], callid, cseq),
        "Max-Forwards: 70",
        "From: <sip:%s@%s>;tag=ftag-%s" % (from_user, domain, callid),
        "To: " + to,
        "Call-ID: " + callid,
        "CSeq: %d %s" % (cseq, method),
        "Contact: <sip:%s@%s:%d>" % (user, PHONE[0], PHONE[1]),
    ]
    lines += list(extra)
    if auth is not None:
        lines.append("%s: %s" % (hname, auth))
    if body:
        lines.append("Content-Type: text/plain")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def run(rt, raw, src=PHONE):
    """Run the request route; returns (ctx, the reply sent or None)."""
    before = len(rt.transport.sent)
    ctx = rt.new_context(parse(raw), src[0], src[1])
    rt.run_request(ctx)
    sent = rt.transport.sent[before:]
    return ctx, (parse(sent[-1][3]) if sent else None)


def challenge_of(reply, name="www-authenticate"):
    return digest.parse_challenge(reply.header(name))


def answer(ch, user="alice", password="secret", method="REGISTER", uri="sip:example.org",
           body=b"", nc=1, ha1=None, **kw):
    """The Authorization value for a challenge."""
    if ha1 is not None:
        cr = digest.make_credentials(ch, user, method, uri, ha1=ha1, body=body, nc=nc, **kw)
    else:
        cr = digest.make_credentials(ch, user, method, uri, password=password, body=body, nc=nc, **kw)
    return digest.format_credentials(cr)


def register_challenge(rt, **kw):
    """Send an unauthenticated REGISTER; the challenge it got."""
    _, rep = run(rt, request(**kw))
    assert rep is not None and rep.status == 401, rep
    return challenge_of(rep)


def logs(caplog, pattern):
    return [r.getMessage() for r in caplog.records if re.search(pattern, r.getMessage())]
