# SPDX-License-Identifier: GPL-2.0-or-later
"""Property tests of kampy.sip.message (hypothesis).

1. Robustness: `parse()` and every read accessor raise nothing but ParseError,
   for arbitrary bytes, for SIP-shaped messages with random header values and
   for randomly mutated messages of the two corpora.
2. Round trip: generated messages parse to exactly the header fields and body
   they were built from, and random edits (add/remove header, set_body,
   set_name_addr on From) show up after re-parsing exactly as made.

Deterministic (derandomize, no example database): CI sees the same examples
on every run.  A time limit per fuzzed message turns super-linear parsing into
a failure instead of a hang.  The bugs these tests found are pinned at the
end: regression tests for the fixed ones.
"""

import contextlib
import pathlib
import re
import signal
import threading
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kampy.sip import KEEP, ParseError, header_key, parse
from kampy.sip.headers import NameAddr, Via, parse_name_addr
from kampy.sip.uri import URI

SIP_DIR = pathlib.Path(__file__).parent
CORPUS = [p.read_bytes() for p in sorted((SIP_DIR / "messages").glob("*.sip"))]
CORPUS += [p.read_bytes() for p in sorted((SIP_DIR / "rfc4475").glob("*.dat"))]


def fast(n):
    return settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,  # exercise() has its own time limit
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# --- robustness helpers --------------------------------------------------------

def attempt(fn, *args):
    """fn(*args), or None when it raises ParseError (anything else propagates)."""
    try:
        return fn(*args)
    except ParseError:
        return None


def _touch(value):
    """Read the lazily parsed parts of a parsed header value."""
    if isinstance(value, list):
        for v in value:
            _touch(v)
    elif isinstance(value, NameAddr):
        for name in ("uri", "tag", "expires", "q", "display_name"):
            attempt(getattr, value, name)
        attempt(value.param_list)
        if value._uri is not None:
            _touch(value._uri)
    elif isinstance(value, Via):
        # not .ttl: see test_via_ttl_not_a_number below
        for name in ("branch", "received", "rport", "maddr", "sent_by"):
            attempt(getattr, value, name)
        attempt(value.param_list)
    elif isinstance(value, URI):
        for name in ("transport", "lr", "host_type", "hostport"):
            attempt(getattr, value, name)
        attempt(value.param_list)
        attempt(value.user_unescaped)
    elif hasattr(value, "param"):  # ContentType, RetryAfter
        attempt(value.param, "x")
        if hasattr(value, "duration"):
            attempt(getattr, value, "duration")


ACCESSORS = (
    "via", "vias", "from_", "to", "cseq", "call_id", "contacts", "routes",
    "record_routes", "max_forwards", "expires", "content_type", "content_length",
    "body",
)


@contextlib.contextmanager
def time_limit(seconds):
    """Fail, rather than hang, on super-linear parsing (sre checks signals)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum, _frame):
        raise TimeoutError("parsing one message took over %g s" % seconds)

    # CPU time, not wall time: a loaded machine must not fail the test
    old = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def exercise(data: bytes):
    """parse() and read everything; only ParseError may escape (it is caught)."""
    with time_limit(2.0):
        return _exercise(data)


def _exercise(data: bytes):
    m = attempt(parse, data)
    if m is None:
        return None
    for name in ACCESSORS:
        _touch(attempt(getattr, m, name))
    if m.is_request:
        _touch(attempt(getattr, m, "ruri_uri"))
    # every header key, including ones header_fields() cannot show
    for key in dict.fromkeys(m._keys):
        _touch(attempt(m.parsed, key))
        attempt(m.header, key)
        attempt(m.headers, key)
    fields = attempt(m.header_fields)
    attempt(m.validate)
    # whatever parse() accepted serializes to something it accepts again
    out = m.serialize()
    again = parse(out)
    assert again.serialize() == out
    assert again.body == m.body
    if fields is not None:
        assert again.header_fields() == fields
    return m


def check_robust(data: bytes):
    exercise(data)


# --- 1a. arbitrary bytes -----------------------------------------------------------

@fast(500)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_parse_error(data):
    check_robust(data)


@fast(300)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_after_a_start_line(data):
    """The same with a good start line, so the header code gets the bytes."""
    check_robust(b"INVITE sip:bob@example.com SIP/2.0\r\n" + data)
    check_robust(b"SIP/2.0 200 OK\r\n" + data)


# --- 1b. SIP-shaped messages with random values ------------------------------------

SIPISH = (b"abcxyzABCZ0123456789-.!%*_+`'~ \t;:=,@<>\"\\/[]?&()#$"
          b"\x00\x7f\xc3\xa9\xff")
KNOWN = [
    b"Via", b"v", b"From", b"f", b"To", b"t", b"Call-ID", b"i", b"CSeq",
    b"Contact", b"m", b"Route", b"Record-Route", b"Max-Forwards", b"Expires",
    b"Min-Expires", b"Content-Type", b"c", b"Content-Length", b"l", b"Retry-After",
    b"Date", b"Require", b"Supported", b"Allow", b"WWW-Authenticate",
    b"Proxy-Authenticate", b"Authorization", b"Proxy-Authorization",
    b"P-Asserted-Identity", b"Path", b"Refer-To", b"Subject", b"X-Other",
]
# value prefixes, used with any header name (grouped here only for reading)
TEMPLATES = {
    b"Via": [b"SIP/2.0/UDP ", b"SIP/2.0/TCP [2001:db8::1]:5060;branch=", b"SIP / 2.0 / UDP "],
    b"From": [b"<sip:", b"\"A\" <sip:a@", b"sip:a@b;tag=", b"<tel:+1"],
    b"Contact": [b"*", b"<sip:a@b>;expires=", b"<sip:a@b>;q=", b"sip:"],
    b"CSeq": [b"1 ", b"4294967296 INVITE", b""],
    b"Authorization": [b"Digest username=\"", b"Digest ", b"Basic "],
    b"WWW-Authenticate": [b"Digest realm=\"r\", nonce=\"", b"Digest realm="],
    b"Retry-After": [b"120 (", b"60;duration="],
    # more digits than int() converts; display-name-like runs of token characters
    # (the old name-addr regex took exponential time on them)
    b"*": [b"9" * 4400, b"a" * 24 + b"@", b"Alice Bob Carol Dave Eve @"],
}

sip_value = st.builds(
    lambda t, v: t + v,
    st.sampled_from([b""] + [p for ps in TEMPLATES.values() for p in ps]),
    st.binary(max_size=50).map(lambda b: bytes(SIPISH[x % len(SIPISH)] for x in b)),
)


@st.composite
def sip_shaped(draw):
    if draw(st.booleans()):
        start = draw(st.sampled_from([
            b"INVITE sip:bob@example.com SIP/2.0", b"REGISTER sips:example.com SIP/2.0",
            b"OPTIONS tel:+15555550100 SIP/2.0", b"X sip:[2001:db8::1]:5060;lr SIP/2.0",
            b"ACK urn:service:sos SIP/2.0",
        ]))
    else:
        start = b"SIP/2.0 %d Reason" % draw(st.sampled_from([100, 180, 200, 401, 503, 699]))
    headers = draw(st.lists(st.tuples(st.sampled_from(KNOWN), sip_value), max_size=10))
    fold = draw(st.booleans())
    lines = [start]
    for name, value in headers:
        if fold and b";" in value:
            value = value.replace(b";", b"\r\n ;", 1)
        lines.append(name + b": " + value)
    body = draw(st.binary(max_size=40))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@fast(300)
@given(sip_shaped())
# a display name of 40 token characters and no blank: exponential backtracking
# in an ambiguous (token+ blank*)+ pattern, found by this test
@example(b"SIP/2.0 100 Reason\r\nFrom: " + b"a" * 40 + b"@<>\r\n\r\n")
def test_sip_shaped_messages_raise_only_parse_error(data):
    check_robust(data)


# --- 1c. mutated corpus messages ------------------------------------------------------

SPECIALS = [b"\r", b"\n", b"\r\n", b"\x00", b" ", b"\t", b"\r\n ", b",", b";", b":",
            b"<", b">", b"\"", b"\\", b"=", b"@", b"[", b"]", b"%", b"\xff",
            b"9" * 12, b"-1", b"\r\n\r\n"]


def _position(draw, data):
    """A byte offset: a line picked evenly, then a place in it (hypothesis alone
    would favour offsets near 0, the start line)."""
    starts = [0] + [m.end() for m in re.finditer(rb"\r\n", data)]
    i = draw(st.sampled_from(range(len(starts))))
    end = starts[i + 1] if i + 1 < len(starts) else len(data)
    return draw(st.integers(starts[i], end))


@st.composite
def mutated(draw):
    data = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(
            ["flip", "insert", "delete", "dup_line", "swap_lines", "special", "digit",
             "replace"]))
        n = len(data)
        pos = _position(draw, data)
        if op == "flip" and n:
            i = min(pos, n - 1)
            data = data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1:]
        elif op == "insert":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=4)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 16)):]
        elif op in ("dup_line", "swap_lines"):
            lines = data.split(b"\r\n")
            # header lines only: moving the start line or the blank line is dull
            end = lines.index(b"") if b"" in lines else len(lines)
            if end < 2:
                continue
            i = draw(st.sampled_from(range(1, end)))
            j = draw(st.sampled_from(range(1, end)))
            if op == "dup_line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = b"\r\n".join(lines)
        elif op == "special":
            data = data[:pos] + draw(st.sampled_from(SPECIALS)) + data[pos:]
        elif op == "digit":
            digits = [i for i, c in enumerate(data) if 0x30 <= c <= 0x39]
            if digits:
                i = draw(st.sampled_from(digits))
                new = draw(st.sampled_from([b"0", b"1", b"7", b"9", b"00", b"65536",
                                            b"4294967296", b"99999999999", b""]))
                data = data[:i] + new + data[i + 1:]
        elif op == "replace" and n:
            i = min(pos, n - 1)
            data = data[:i] + draw(st.sampled_from(SPECIALS))[:1] + data[i + 1:]
    if draw(st.integers(0, 9)) == 3:  # not 0: hypothesis favours it
        data = data[:_position(draw, data)]  # truncate
    return data


@fast(400)
@given(mutated())
def test_mutated_corpus_raises_only_parse_error(data):
    check_robust(data)


def test_corpus_itself_is_robust():
    for data in CORPUS:
        exercise(data)


# --- 2. round trip --------------------------------------------------------------------

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"
ADDED = "X-Kampy-Added-"

token = st.text(TOKEN_CHARS, min_size=1, max_size=10).map(str.encode)
display = st.one_of(
    st.lists(st.text("abcdefghXYZ012-.", min_size=1, max_size=5), min_size=1, max_size=2)
    .map(lambda ws: " ".join(ws).encode()),
    st.binary(max_size=12).map(
        lambda b: b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        .replace(b"\r", b"").replace(b"\n", b"") + b'"'),
)
host = st.one_of(
    st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8),
             min_size=1, max_size=3).map(lambda ls: ".".join(ls).encode()),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: b"%d.%d.%d.%d" % t),
    st.sampled_from([b"[2001:db8::1]", b"[2001:db8:0:1::99]"]),
)
sip_uri = st.builds(
    lambda scheme, user, h, port, params: (
        scheme + b":" + (user + b"@" if user else b"") + h
        + (b":%d" % port if port is not None else b"")
        + b"".join(b";" + p for p in params)),
    st.sampled_from([b"sip", b"sips"]),
    st.one_of(st.none(), st.text("abcdefxyz0123456789+-_.!~*'()&=$,", min_size=1, max_size=10)
              .map(str.encode)),
    host,
    st.one_of(st.none(), st.integers(1, 65535)),
    st.lists(st.sampled_from([b"lr", b"transport=tcp", b"user=phone", b"ob", b"maddr=192.0.2.1"]),
             max_size=3),
)


def _uri_pool(n=120):
    """Fixed SIP URIs for the parts the round trip only carries along (cheaper
    to draw than sip_uri, which stays for the URIs that edits write)."""
    import random
    rnd = random.Random(4475)
    out = []
    for _ in range(n):
        user = "".join(rnd.choice("abcxyz0189+-_.!~*'()&=$,") for _ in range(rnd.randint(0, 8)))
        h = rnd.choice(["example.com", "pbx.example.net", "a1.b-2.example.org.", "192.0.2.%d"
                        % rnd.randint(0, 255), "[2001:db8::%x]" % rnd.randint(1, 0xffff), "h"])
        u = rnd.choice(["sip:", "sips:", "SIP:"]) + (user + "@" if user else "") + h
        if rnd.random() < 0.4:
            u += ":%d" % rnd.randint(1, 65535)
        for _ in range(rnd.randint(0, 3)):
            u += rnd.choice([";lr", ";transport=tcp", ";user=phone", ";ob", ";maddr=192.0.2.1"])
        out.append(u.encode())
    return out


URI_POOL = _uri_pool()
any_uri = st.sampled_from(URI_POOL)

# header values: anything but CR and LF
value_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
header_name = st.text(NAME_CHARS, min_size=1, max_size=16).filter(
    lambda n: header_key(n) not in ("content-length", "from")
    and not n.lower().startswith(ADDED.lower()))
colon = st.sampled_from([b": ", b":", b" : ", b"\t:\t", b":  "])


@st.composite
def plain_value(draw):
    """(bytes as written, value the parser must give): maybe folded."""
    if draw(st.integers(0, 3)):
        v = draw(value_bytes)
        return v, v.strip(b" \t")
    parts = draw(st.lists(value_bytes.map(lambda v: v.strip(b" \t") or b"x"),
                          min_size=2, max_size=3))
    folds = [draw(st.sampled_from([b"\r\n ", b"\r\n\t", b"\r\n   "])) for _ in parts[1:]]
    written = parts[0] + b"".join(f + p for f, p in zip(folds, parts[1:]))
    return written, b" ".join(parts)


@st.composite
def generated_message(draw):
    """(raw bytes, [(name, value)] expected from header_fields(), body, from parts)."""
    if draw(st.booleans()):
        start = draw(token) + b" " + draw(any_uri) + b" SIP/2.0"
    else:
        start = b"SIP/2.0 %d " % draw(st.integers(100, 699)) + draw(value_bytes).lstrip(b" ")
    fields = []
    written = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(header_name).encode()
        sep = draw(colon)
        raw, value = draw(plain_value())
        written.append(name + sep + raw)
        fields.append((name, value))
    # From: name-addr or addr-spec, params kept as written
    f_display = draw(st.one_of(st.none(), display))
    f_uri = draw(any_uri)
    f_params = b"".join(b";" + p for p in draw(st.lists(
        st.sampled_from([b"tag=" + t for t in (b"a1b2", b"x-y.z", b"9")] + [b"x=y", b"lr", b"epid=1"]),
        max_size=3)))
    if f_display is None and draw(st.booleans()) and not re.search(rb"[;,?]", f_uri):
        f_value = f_uri + f_params
    else:
        f_value = (f_display + b" " if f_display else b"") + b"<" + f_uri + b">" + f_params
    from_name = draw(st.sampled_from([b"From", b"f", b"FROM", b"from"]))
    i = draw(st.integers(0, len(fields)))
    written.insert(i, from_name + b": " + f_value)
    fields.insert(i, (from_name, f_value))
    body = draw(st.binary(max_size=200))
    if body or draw(st.booleans()):
        cl_name = draw(st.sampled_from([b"Content-Length", b"l", b"content-length"]))
        j = draw(st.integers(0, len(fields)))
        written.insert(j, cl_name + b": %d" % len(body))
        fields.insert(j, (cl_name, b"%d" % len(body)))
    raw = b"\r\n".join([start] + written) + b"\r\n\r\n" + body
    return raw, start, fields, body, (f_display, f_uri, f_params)


def shown(m):
    return [(name, value) for _key, name, value in m.header_fields()]


@fast(150)
@given(generated_message())
def test_generated_messages_round_trip(msg):
    raw, start, fields, body, _from = msg
    m = parse(raw)
    assert m.first_line == start
    assert shown(m) == fields
    assert m.body == body
    assert m.serialize() == raw
    again = parse(m.serialize())
    assert shown(again) == fields
    assert again.body == body


@st.composite
def edits(draw, fields):
    """Random edits; removals name received headers, additions new names."""
    removable = [n for n, _ in fields if header_key(n) not in ("from", "content-length")]
    ops = []
    for k in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["add", "remove", "body", "from"]))
        if kind == "add":
            name = (ADDED + str(k)).encode()
            if draw(st.booleans()):
                name = name.lower()
            ops.append(("add", name, draw(value_bytes)))
        elif kind == "remove" and removable:
            ops.append(("remove", draw(st.sampled_from(removable))))
        elif kind == "body":
            ops.append(("body", draw(st.binary(max_size=120))))
        elif kind == "from":
            d = draw(st.one_of(st.just(KEEP), st.none(), display))
            u = draw(st.one_of(st.just(KEEP), sip_uri))
            ops.append(("from", d, u))
    return ops


@fast(200)
@given(st.data())
def test_edits_show_after_reparse(data):
    raw, start, fields, body, (_f_display, f_uri, f_params) = data.draw(generated_message())
    ops = data.draw(edits(fields))
    m = parse(raw)
    removed = set()
    added = []
    new_body = None
    from_edit = None
    for op in ops:
        if op[0] == "add":
            m.add_header(op[1], op[2])
            added.append((op[1], op[2].strip(b" \t")))
        elif op[0] == "remove":
            key = header_key(op[1])
            assert m.remove_header(op[1]) == sum(header_key(n) == key for n, _ in fields)
            removed.add(key)
        elif op[0] == "body":
            m.set_body(op[1])
            new_body = op[1]
        else:
            m.set_name_addr("From", display=op[1], uri=op[2])
            from_edit = op[1:]  # the last call wins, built from the received value
    out = m.serialize()
    m2 = parse(out)
    assert m2.first_line == start

    # the model: received headers minus removals, From and Content-Length updated,
    # then the added ones in order; Content-Length appended if there was none
    want = []
    final_body = body if new_body is None else new_body
    received_from = parse_name_addr(next(v for n, v in fields if header_key(n) == "from"))
    for name, value in fields:
        key = header_key(name)
        if key in removed:
            continue
        if key == "from" and from_edit is not None:
            d, u = from_edit
            d = received_from.display if d is KEEP else d
            u = received_from.uri_raw if u is KEEP else u
            value = (d + b" <" if d else b"<") + u + b">" + received_from.params
        elif key == "content-length" and new_body is not None:
            value = b"%d" % len(new_body)
        want.append((name, value))
    want += added
    if new_body is not None and not any(header_key(n) == "content-length" for n, _ in fields):
        want.append((b"Content-Length", b"%d" % len(new_body)))
    assert shown(m2) == want
    assert m2.body == final_body
    f = m2.from_
    if from_edit is not None:
        d, u = from_edit
        assert f.uri_raw == (received_from.uri_raw if u is KEEP else u)
        assert f.display == (received_from.display if d is KEEP else (d or None))
    assert f.params == received_from.params
    assert f.uri_raw == (f_uri if from_edit is None or from_edit[1] is KEEP else from_edit[1])
    assert f.params == f_params
    # apply_changes() is the same re-parse, in place
    m.apply_changes()
    assert shown(m) == want
    assert m.serialize() == out


# --- bugs this suite found ----------------------------------------------------------------
# Fixed in 9578167 ("SIP fixes: possessive name-addr regex, bounded digit runs,
# linear unfolding, one Content-Length/Content-Type per new body"): kept as
# regression tests.

BASE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@example.com>;tag=1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: a@192.0.2.1\r\n"
    b"CSeq: 1 INVITE\r\n"
)

# more digits than int() converts by default (sys.get_int_max_str_digits(), 4300)
MANY = b"1" * 5000


def test_huge_content_length_raises_parse_error():
    """Was: ValueError from int() (integer string conversion limit) out of parse()."""
    with pytest.raises(ParseError):
        parse(BASE + b"Content-Length: " + MANY + b"\r\n\r\n")


@pytest.mark.parametrize("line, read", [
    (b"Max-Forwards: %s", lambda m: m.max_forwards),
    (b"Expires: %s", lambda m: m.expires),
    (b"Min-Expires: %s", lambda m: m.parsed("Min-Expires")),
    (b"Retry-After: %s", lambda m: m.parsed("Retry-After")),
    (b"Contact: <sip:a@192.0.2.1>;expires=%s", lambda m: m.contacts[0].expires),
    (b"Via: SIP/2.0/UDP 192.0.2.9 : %s;branch=z9hG4bK2", lambda m: m.vias),
], ids=["max-forwards", "expires", "min-expires", "retry-after", "contact-expires", "via-port"])
def test_huge_numbers_raise_parse_error(line, read):
    """Was: ValueError from int() in parse_uint() and the Via port."""
    m = parse(BASE + line % MANY + b"\r\n\r\n")
    with pytest.raises(ParseError):
        read(m)
    with pytest.raises(ParseError):
        m.validate()


@pytest.mark.parametrize("ttl", [b"abc", b"256", MANY])
def test_via_ttl_not_a_number(ttl):
    """Was: Via.ttl returned int(param) unchecked (ValueError on `ttl=abc`)."""
    m = parse(BASE.replace(b";branch=", b";ttl=" + ttl + b";branch=") + b"\r\n")
    with pytest.raises(ParseError):
        m.via.ttl


def test_transaction_method_of_reply_without_cseq():
    """Was: AttributeError ('NoneType' object has no attribute 'method')."""
    m = parse(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\r\n")
    with pytest.raises(ParseError):
        m.transaction_method


def test_set_body_with_duplicate_content_length():
    """Was: only the first of two equal Content-Length lines followed the new
    body, so the output had conflicting values and apply_changes() raised."""
    m = parse(BASE + b"Content-Length: 0\r\nContent-Length: 0\r\n\r\n")
    m.set_body(b"hello")
    m.apply_changes()
    assert m.body == b"hello"
    assert m.headers("Content-Length") == [b"5"]


def test_set_body_twice_with_content_type():
    """Was: each set_body(..., content_type) added one more Content-Type line."""
    m = parse(BASE + b"Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n")
    m.set_body(b"a", "text/plain")
    m.set_body(b"bb", "text/html")
    m.apply_changes()
    assert m.headers("Content-Type") == [b"text/html"]
    assert m.body == b"bb"
    m.validate()


def _seconds(fn, *args):
    """Best of three runs, so a busy CI machine does not make it look slow."""
    best = None
    for _ in range(3):
        t = time.perf_counter()
        try:
            fn(*args)
        except ParseError:
            pass
        t = time.perf_counter() - t
        best = t if best is None else min(best, t)
        if best < 0.01:
            break
    return best


def test_name_addr_regex_is_not_exponential():
    """Was: _NA_RE `((?:token+[ \\t]*)*)<` backtracked exponentially when a run
    of token characters was not followed by a good <addr-spec> (ReDoS: 22
    characters took 0.6 s and each further one doubled it)."""
    assert _seconds(parse_name_addr, b"a" * 24 + b"@") < 0.25
    m = parse(BASE.replace(b"<sip:alice@example.com>", b"alice" * 20 + b"@example.com")
              + b"\r\n")
    assert _seconds(lambda: m.from_) < 0.25


def test_unfolding_is_not_quadratic():
    """Was: _UNFOLD_RE `[ \\t]*\\r?\\n[ \\t]+` was quadratic in a run of blanks
    in a folded header (60 000 blanks: 90 s for one m.via)."""
    m = parse(BASE.replace(b"192.0.2.1:5060", b"192.0.2.1:5060" + b" " * 20000 + b"x\r\n ")
              + b"\r\n")
    assert _seconds(lambda: m.via) < 0.25


def test_header_line_without_colon_is_refused():
    """Was: accepted when its text is a header name already cached and the
    other lines hold enough colons (the fast path counted colons)."""
    parse(BASE + b"\r\n")  # puts b"Via" in the cache, if nothing did before
    with pytest.raises(ParseError):
        parse(BASE + b"Xyzzy-Never-Seen\r\n\r\n")  # slow path: refused
    with pytest.raises(ParseError):
        parse(BASE + b"Via\r\n\r\n")  # fast path: accepted, a line with no value at all
