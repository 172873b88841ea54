# SPDX-License-Identifier: GPL-2.0-or-later
"""split_list's bracket fast path (no quotes) against the byte-by-byte rule:
a comma separates elements unless it is inside quotes or inside <...>."""

from hypothesis import given, settings, strategies as st

from kampy.sip.errors import ParseError
from kampy.sip.headers import split_list


def reference(value, brackets=True):
    parts, start, quoted, angled, i = [], 0, False, False, 0
    while i < len(value):
        c = value[i]
        if quoted:
            if c == 0x5C:
                i += 1
            elif c == 0x22:
                quoted = False
        elif c == 0x22:
            quoted = True
        elif brackets and c == 0x3C:
            angled = True
        elif angled and c == 0x3E:
            angled = False
        elif c == 0x2C and not angled:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise ParseError("unterminated quoted string")
    parts.append(value[start:])
    out = [p.strip(b" \t") for p in parts]
    if not all(out):
        raise ParseError("empty list element")
    return out


def outcome(fn, value, brackets):
    try:
        return fn(value, brackets)
    except ParseError:
        return "error"


PIECES = [b"a", b"<", b">", b",", b";", b" ", b"x=y", b"sip:u@h", b"lr", b'"', b"\\"]


@settings(max_examples=3000)
@given(st.lists(st.sampled_from(PIECES), max_size=24).map(b"".join), st.booleans())
def test_split_list_matches_the_byte_rule(value, brackets):
    assert outcome(split_list, value, brackets) == outcome(reference, value, brackets)


def test_route_values_with_commas_in_uri_parameters():
    v = b"<sip:p1;lr;vsf=a,b>, <sip:p2;lr>,<sip:p3?h=x,y>"
    assert split_list(v) == [b"<sip:p1;lr;vsf=a,b>", b"<sip:p2;lr>", b"<sip:p3?h=x,y>"]
    assert split_list(b"<sip:a,b") == [b"<sip:a,b"]
