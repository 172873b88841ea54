# SPDX-License-Identifier: GPL-2.0-or-later
"""In-process registrar runs: a compiled config, REGISTERs as canned bytes,
replies read from the RecordingTransport, a clock moved by LocalTimers."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse

PHONE = ("192.0.2.10", 5062)

HEAD = """
listen=udp:127.0.0.1:5060
loadmodule "sl"
loadmodule "tm"
loadmodule "textops"
loadmodule "siputils"
loadmodule "xlog"
loadmodule "pv"
loadmodule "usrloc"
loadmodule "registrar"
"""

ROUTE = """
request_route {
    if (is_method("REGISTER")) {
        save("location");
        $var(rc) = $retcode;
        exit;
    }
    lookup("location");
    $var(rc) = $retcode;
    exit;
}
"""


def crlf(text) -> bytes:
    return text.replace("\n", "\r\n").encode()


def register(aor="alice", contacts=("<sip:alice@192.0.2.10:5062>",), expires=None, callid="reg-1",
             cseq=1, extra=(), to_domain="example.org", branch=None):
    lines = [
        "REGISTER sip:example.org SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=%s" % (branch or "z9hG4bK%s-%d" % (callid, cseq)),
        "From: <sip:%s@%s>;tag=f%d" % (aor, to_domain, cseq),
        "To: <sip:%s@%s>" % (aor, to_domain),
        "Call-ID: %s" % callid,
        "CSeq: %d REGISTER" % cseq,
    ]
    lines += ["Contact: %s" % c for c in contacts]
    if expires is not None:
        lines.append("Expires: %s" % expires)
    lines += list(extra) + ["Max-Forwards: 70", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def invite(ruri="sip:alice@127.0.0.1", callid="inv-1", extra=(), method="INVITE", to_tag=None):
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bK%s" % callid,
        "From: <sip:bob@example.org>;tag=b1",
        "To: <sip:alice@example.org>%s" % (";tag=" + to_tag if to_tag else ""),
        "Call-ID: %s" % callid,
        "CSeq: 1 %s" % method,
        "Contact: <sip:bob@192.0.2.20:5070>",
    ] + list(extra) + ["Max-Forwards: 70", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


class Env:
    def __init__(self, params="", route=ROUTE, head=HEAD):
        self.rt = Runtime(compile_text(head + params + route, "t.cfg"))
        self.rt.init_modules()
        self.api = self.rt.api("usrloc")

    def run(self, raw, src=PHONE):
        ctx = self.rt.new_context(parse(raw), src[0], src[1])
        self.rt.run_request(ctx)
        return ctx

    def reg(self, *args, **kw):
        """(return code of save, the reply) for a REGISTER."""
        n = len(self.rt.transport.sent)
        ctx = self.run(register(*args, **kw))
        sent = self.rt.transport.sent[n:]
        return self.rt.vars.get("rc"), (parse(sent[-1][3]) if sent else None), ctx

    def tick(self, seconds):
        self.rt.timers.now_ms += int(seconds * 1000)

    def contacts(self, aor="alice", table="location"):
        return self.api.get(table, aor)

    def now(self):
        return self.api.now()


def contact_params(reply) -> list:
    """[(uri, {param: value})] of a reply's Contact header(s)."""
    out = []
    for c in reply.contacts:
        params = {}
        for k, v in c.param_list():
            params[k.decode()] = None if v is None else v.decode()
        out.append((c.uri_raw.decode(), params))
    return out


def header(reply, name):
    v = reply.header(name)
    return None if v is None else v.decode()
