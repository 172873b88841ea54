# SPDX-License-Identifier: GPL-2.0-or-later
"""Micro-benchmark of kampy.sip on a typical INVITE: µs of CPU per message, median.

Run: python -m tools.bench.bench_parse   (prints; asserts nothing)
"""

import statistics
import sys
import time

from kampy.sip import parse

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com:5060;transport=udp>\r\n"
    b"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, INFO\r\n"
    b"Supported: replaces, timer\r\n"
    b"User-Agent: Grandstream GXP2170 1.0.11.23\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 330\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
    b"s=Session SDP\r\n"
    b"c=IN IP4 192.0.2.101\r\n"
    b"t=0 0\r\n"
    b"m=audio 49172 RTP/AVP 0 8 18 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:18 G729/8000\r\n"
    b"a=fmtp:18 annexb=no\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=ptime:20\r\n"
    b"a=sendrecv\r\n"
    b"a=rtcp:49173 IN IP4 192.0.2.101\r\n"
)
_hs, _sep, _body = INVITE.partition(b"\r\n\r\n")
INVITE = INVITE.replace(b"Content-Length: 330", b"Content-Length: %d" % len(_body))


def case_a():
    m = parse(INVITE)
    return m.branch, m.from_tag, m.to_tag, m.call_id, m.cseq.number


def case_b():
    m = parse(INVITE)
    for key, _name, _val in m.header_fields():
        m.parsed(key)
    m.ruri_uri
    m.from_.uri
    m.to.uri
    return m


def case_c():
    m = parse(INVITE)
    m.set_name_addr("From", uri=b"sip:anonymous@anonymous.invalid")
    return m.serialize()


def measure(fn, loops=2000, repeat=15):
    for _ in range(loops):
        fn()
    runs = []
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(loops):
            fn()
        runs.append((time.process_time() - t0) / loops * 1e6)
    return statistics.median(runs), min(runs), max(runs)


def main():
    print("kampy.sip parse benchmark: %d-byte INVITE, Python %s" % (len(INVITE), sys.version.split()[0]))
    for label, fn, target in (
        ("(a) parse + Via branch, From tag, To tag, Call-ID, CSeq", case_a, 8.0),
        ("(b) parse every header", case_b, None),
        ("(c) replace From URI + serialize", case_c, 20.0),
    ):
        med, lo, hi = measure(fn)
        tgt = "  target <= %.0f us" % target if target else ""
        print("%-58s median %6.2f us  (min %.2f, max %.2f)%s" % (label, med, lo, hi, tgt))


if __name__ == "__main__":
    main()
