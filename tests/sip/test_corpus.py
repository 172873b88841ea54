# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-world corpus: messages in the style of what phones, PBXs and trunks send.

Each `tests/sip/messages/NAME.sip` holds one raw message (CRLF line ends,
exact Content-Length); `NAME.py` next to it holds a dict `expect` with the
fields the parser must give.  Every message must parse and validate, give
those fields, serialize back to its own bytes, and survive an edit of From
plus an added header with every other header line byte for byte.
"""

import pathlib
import runpy

import pytest

from kampy.sip import ParseError, parse

HERE = pathlib.Path(__file__).parent / "messages"
SIP_FILES = sorted(p.name for p in HERE.glob("*.sip"))
PY_FILES = sorted(p.name for p in HERE.glob("*.py"))


def load(name):
    return (HERE / name).read_bytes()


def load_expect(sip_name, here=HERE):
    py = here / (sip_name[:-4] + ".py")
    if not py.exists():
        pytest.fail("%s has no %s with its `expect` dict" % (sip_name, py.name))
    ns = runpy.run_path(str(py))
    if not isinstance(ns.get("expect"), dict):
        pytest.fail("%s must define a dict named `expect`" % py.name)
    return ns["expect"]


def header_lines(data):
    """The header lines of a raw CRLF message, a folded header as one item."""
    head = data[:data.index(b"\r\n\r\n")].split(b"\r\n")[1:]
    out = []
    for piece in head:
        if piece[:1] in (b" ", b"\t"):
            out[-1] += b"\r\n" + piece
        else:
            out.append(piece)
    return out


def body_of(data):
    return data[data.index(b"\r\n\r\n") + 4:]


# --- what each expect key means ----------------------------------------------------

def _top_via(m, attr):
    return getattr(m.via, attr)


def _na_list(values):
    return [v.uri_raw for v in values]


def _check_vias(m, want):
    vias = m.vias
    assert len(vias) >= len(want)
    for i, (v, w) in enumerate(zip(vias, want)):
        for k, wv in w.items():
            if k == "params":
                got = {p: v.param(p) for p in wv}
            else:
                got = getattr(v, k)
            assert got == wv, "Via #%d %s: want %r, got %r" % (i, k, wv, got)
    return True


def _check_contact_params(m, want):
    contacts = m.contacts
    assert len(contacts) == len(want)
    for i, (c, w) in enumerate(zip(contacts, want)):
        for p, wv in w.items():
            got = c.param(p)
            assert got == wv, "Contact #%d param %s: want %r, got %r" % (i, p, wv, got)
    return True


def _challenges(m, name, want):
    got = m.parsed(name) or []
    assert len(got) == len(want), "%d %s challenges, want %d" % (len(got), name, len(want))
    for i, (ch, w) in enumerate(zip(got, want)):
        for k, wv in w.items():
            assert getattr(ch, k) == wv, "%s #%d %s: want %r, got %r" % (name, i, k, wv, getattr(ch, k))
    return True


def _credentials(m, name, want):
    cr = m.parsed(name)
    assert cr is not None, "no %s" % name
    for k, wv in want.items():
        assert getattr(cr, k) == wv, "%s %s: want %r, got %r" % (name, k, wv, getattr(cr, k))
    return True


# key -> function(message, expected value) returning the value to compare with it
# (checkers that assert themselves return True and are compared with True)
CHECKS = {
    "request": lambda m, w: m.is_request,
    "method": lambda m, w: m.method,
    "ruri": lambda m, w: m.ruri,
    "ruri_user": lambda m, w: m.ruri_uri.user,
    "ruri_host": lambda m, w: m.ruri_uri.host,
    "ruri_port": lambda m, w: m.ruri_uri.port,
    "ruri_host_type": lambda m, w: m.ruri_uri.host_type,
    "ruri_transport": lambda m, w: m.ruri_uri.transport,
    "ruri_params": lambda m, w: {k: m.ruri_uri.param(k) for k in w},
    "status": lambda m, w: m.status,
    "reason": lambda m, w: m.reason,
    "via_count": lambda m, w: len(m.vias),
    "via_branch": lambda m, w: _top_via(m, "branch"),
    "via_host": lambda m, w: _top_via(m, "host"),
    "via_port": lambda m, w: _top_via(m, "port"),
    "via_transport": lambda m, w: _top_via(m, "transport"),
    "via_received": lambda m, w: _top_via(m, "received"),
    "via_rport": lambda m, w: _top_via(m, "rport"),
    "vias": lambda m, w: _check_vias(m, w) and w,
    "from_uri": lambda m, w: m.from_.uri_raw,
    "from_tag": lambda m, w: m.from_.tag,
    "from_display": lambda m, w: m.from_.display_name,
    "from_params": lambda m, w: {k: m.from_.param(k) for k in w},
    "to_uri": lambda m, w: m.to.uri_raw,
    "to_tag": lambda m, w: m.to.tag,
    "to_display": lambda m, w: m.to.display_name,
    "call_id": lambda m, w: m.call_id,
    "cseq": lambda m, w: (m.cseq.number, m.cseq.method),
    "contacts": lambda m, w: m.contacts if m.contacts == "*" else _na_list(m.contacts),
    "contact_params": lambda m, w: _check_contact_params(m, w) and w,
    "contact_expires": lambda m, w: [c.expires for c in m.contacts],
    "contact_q": lambda m, w: [c.q for c in m.contacts],
    "routes": lambda m, w: _na_list(m.routes),
    "route_lr": lambda m, w: [r.uri.lr for r in m.routes],
    "record_routes": lambda m, w: _na_list(m.record_routes),
    "pai": lambda m, w: _na_list(m.parsed("P-Asserted-Identity") or []),
    "max_forwards": lambda m, w: m.max_forwards,
    "expires": lambda m, w: m.expires,
    "content_length": lambda m, w: m.content_length,
    "content_type": lambda m, w: m.content_type.mime if m.content_type else None,
    "content_type_params": lambda m, w: {k: m.content_type.param(k) for k in w},
    "body_len": lambda m, w: len(m.body),
    "body_startswith": lambda m, w: m.body[:len(w)],
    "body_endswith": lambda m, w: m.body[-len(w):],
    "body_contains": lambda m, w: [s for s in w if s in m.body],
    "body_text": lambda m, w: m.body.decode("utf-8"),
    "keys": lambda m, w: [k for k, _name, _value in m.header_fields()],
    "headers": lambda m, w: {k: m.header(k) for k in w},
    "header_count": lambda m, w: {k: m.count(k) for k in w},
    "header_min_len": lambda m, w: {k: w[k] if len(m.header(k)) >= w[k] else len(m.header(k)) for k in w},
    "allow": lambda m, w: m.parsed("Allow"),
    "supported": lambda m, w: m.parsed("Supported"),
    "require": lambda m, w: m.parsed("Require"),
    "www_authenticate": lambda m, w: _challenges(m, "WWW-Authenticate", w) and w,
    "proxy_authenticate": lambda m, w: _challenges(m, "Proxy-Authenticate", w) and w,
    "authorization": lambda m, w: _credentials(m, "Authorization", w) and w,
    "proxy_authorization": lambda m, w: _credentials(m, "Proxy-Authorization", w) and w,
    "retry_after": lambda m, w: m.parsed("Retry-After").seconds,
    "retry_after_comment": lambda m, w: m.parsed("Retry-After").comment,
    "retry_after_duration": lambda m, w: m.parsed("Retry-After").duration,
}


# --- the corpus as a whole ---------------------------------------------------------------

def test_corpus_is_big_enough_and_paired():
    assert len(SIP_FILES) >= 20
    sips = {n[:-4] for n in SIP_FILES}
    pys = {n[:-3] for n in PY_FILES}
    assert sorted(pys - sips) == [], "expect files without a message"
    assert sorted(sips - pys) == [], "messages without an expect file"


def test_expect_files_carry_the_license_line():
    for name in PY_FILES:
        first = (HERE / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert first == "# SPDX-License-Identifier: GPL-2.0-or-later", name


# --- one message at a time ----------------------------------------------------------------

@pytest.mark.parametrize("name", SIP_FILES)
def test_file_is_raw_crlf(name):
    data = load(name)
    head = data[:data.index(b"\r\n\r\n")]
    assert b"\n" not in head.replace(b"\r\n", b""), "bare LF in the header section"
    assert b"\r" not in head.replace(b"\r\n", b""), "bare CR in the header section"
    assert not data.startswith(b"\r\n")


@pytest.mark.parametrize("name", SIP_FILES)
def test_expected_fields(name):
    expect = load_expect(name)
    unknown = sorted(set(expect) - set(CHECKS))
    assert not unknown, "unknown expect keys %s" % unknown
    m = parse(load(name))
    m.validate()
    wrong = {}
    for key, want in expect.items():
        got = CHECKS[key](m, want)
        if got != want:
            wrong[key] = (want, got)
    assert not wrong, "\n".join("%s: want %r, got %r" % (k, w, g) for k, (w, g) in wrong.items())


@pytest.mark.parametrize("name", SIP_FILES)
def test_framing(name):
    data = load(name)
    m = parse(data)
    assert m.body == body_of(data)
    assert len(m) == len(data)
    if m.has("Content-Length"):
        assert m.content_length == len(m.body)


@pytest.mark.parametrize("name", SIP_FILES)
def test_every_header_parses(name):
    m = parse(load(name))
    fields = m.header_fields()
    lines = header_lines(load(name))
    assert len(fields) == len(lines)
    for (key, raw_name, _value), line in zip(fields, lines):
        assert line.startswith(raw_name)
        m.parsed(key)


@pytest.mark.parametrize("name", SIP_FILES)
def test_unedited_serialize_is_identity(name):
    data = load(name)
    m = parse(data)
    assert m.serialize() == data
    m.from_, m.to, m.vias, m.contacts, m.body  # reads never change the output
    assert m.serialize() == data
    assert not m.changed
    assert m.apply_changes().serialize() == data


@pytest.mark.parametrize("name", SIP_FILES)
def test_edit_from_and_add_header_keep_other_lines(name):
    data = load(name)
    old = header_lines(data)
    m = parse(data)
    old_from = m.from_
    pos = m.positions("From")[0]
    new_uri = b"sip:edited-user@edit.example.org;transport=tcp"
    m.set_name_addr("From", uri=new_uri)
    m.add_header("X-Corpus-Edit", "yes")
    assert m.changed
    m.apply_changes()
    out = m.serialize()
    new = header_lines(out)
    assert out.split(b"\r\n", 1)[0] == data.split(b"\r\n", 1)[0]
    assert len(new) == len(old) + 1
    assert new[:pos] == old[:pos]
    assert new[pos + 1:-1] == old[pos + 1:]
    assert new[-1] == b"X-Corpus-Edit: yes"
    name_as_written = old[pos].partition(b":")[0]
    assert new[pos].startswith(name_as_written + b":")
    assert m.from_.uri_raw == new_uri
    assert m.from_.tag == old_from.tag
    assert m.from_.display == old_from.display
    assert m.from_.params == old_from.params
    assert m.header("X-Corpus-Edit") == b"yes"
    assert m.body == body_of(data)
    m.validate()
    # a second parse of the output is the same message
    again = parse(out)
    assert again.header_fields() == m.header_fields()
    assert again.serialize() == out


@pytest.mark.parametrize("name", SIP_FILES)
def test_edit_via_and_body(name):
    """Proxy-style edits: push and pop a Via, replace the body."""
    data = load(name)
    m = parse(data)
    vias = [v.raw for v in m.vias]
    m.push_via(b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcorpus1")
    m.set_body(b"new body\r\n")
    m.apply_changes()
    assert [v.raw for v in m.vias] == [b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcorpus1"] + vias
    assert m.body == b"new body\r\n"
    assert m.content_length == len(b"new body\r\n")
    m.pop_via()
    m.apply_changes()
    assert [v.raw for v in m.vias] == vias
    others = [f for f in m.header_fields() if f[0] not in ("via", "content-length")]
    orig = [f for f in parse(data).header_fields() if f[0] not in ("via", "content-length")]
    assert others == orig


def test_a_sip_file_without_expect_fails(tmp_path):
    (tmp_path / "lonely.sip").write_bytes(load(SIP_FILES[0]))
    with pytest.raises(pytest.fail.Exception):
        load_expect("lonely.sip", tmp_path)


def test_parse_error_is_the_only_failure_for_truncated_corpus():
    """Every prefix of every message parses or raises ParseError."""
    for name in SIP_FILES:
        data = load(name)
        for n in range(0, len(data), 7):
            try:
                m = parse(data[:n])
                m.validate()
            except ParseError:
                pass
