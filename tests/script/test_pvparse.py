# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests for kampy.script.pvparse: PV syntax and format strings."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kampy.script.ast import ConfigError, Pos, PVSpec
from kampy.script.pvparse import parse_format, parse_pv

P = Pos("t.cfg", 3, 5)


def pv(text, i=0):
    spec, end = parse_pv(text, i, P)
    return spec, end


@pytest.mark.parametrize("text,name", [
    ("$ru", "ru"), ("$rU", "rU"), ("$T_reply_code", "T_reply_code"),
    ("$retcode", "retcode"), ("$_s", "_s"), ("$null", "null"), ("$si", "si"),
])
def test_simple_names(text, name):
    spec, end = pv(text)
    assert (spec.name, spec.inner, spec.index, spec.transforms) == (name, None, None, [])
    assert end == len(text)
    assert spec.text == text
    assert spec.pos == P


def test_name_stops_at_non_name_char():
    spec, end = pv("$rU@host")
    assert spec.name == "rU" and end == 3 and spec.text == "$rU"
    spec, end = pv("x $fu;", 2)
    assert spec.name == "fu" and end == 5


@pytest.mark.parametrize("text,name,inner", [
    ("$var(x)", "var", "x"),
    ("$avp(s:name)", "avp", "s:name"),
    ("$avp(i:3)", "avp", "i:3"),
    ("$xavp(root=>field)", "xavp", "root=>field"),
    ("$xavp(a[0]=>b)", "xavp", "a[0]=>b"),
    ("$hdr(Via)", "hdr", "Via"),
    ("$T_req($hdr(X))", "T_req", "$hdr(X)"),
    ("$sel(a(b)c)", "sel", "a(b)c"),
    ("$sht(t=>$ci)", "sht", "t=>$ci"),
    ("$var()", "var", ""),
])
def test_inner(text, name, inner):
    spec, end = pv(text)
    assert spec.name == name and spec.inner == inner and spec.index is None
    assert end == len(text) and spec.text == text


@pytest.mark.parametrize("text,index", [
    ("$hdr(Via)[1]", 1), ("$avp(x)[-1]", -1), ("$avp(x)[*]", "*"), ("$hdr(Via)[0]", 0),
])
def test_index(text, index):
    spec, end = pv(text)
    assert spec.index == index and end == len(text)


def test_index_is_a_pv():
    spec, end = pv("$avp(x)[$var(i)] rest")
    assert isinstance(spec.index, PVSpec)
    assert (spec.index.name, spec.index.inner) == ("var", "i")
    assert spec.index.pos == Pos("t.cfg", 3, 13)
    assert spec.text == "$avp(x)[$var(i)]" and end == 16


def test_not_an_index_is_left_alone():
    spec, end = pv("$ru[abc]")
    assert spec.index is None and end == 3


def test_transform_form():
    spec, end = pv("$(ru{uri.user}{s.len})")
    assert spec.name == "ru" and spec.inner is None
    assert [t.name for t in spec.transforms] == ["uri.user", "s.len"]
    assert all(t.args == [] for t in spec.transforms)
    assert spec.transforms[0].pos == Pos("t.cfg", 3, 9)
    assert spec.transforms[1].pos == Pos("t.cfg", 3, 19)
    assert end == len("$(ru{uri.user}{s.len})")


def test_transform_with_inner_and_args():
    spec, _ = pv("$(hdr(From){tobody.uri})")
    assert (spec.name, spec.inner) == ("hdr", "From")
    assert spec.transforms[0].name == "tobody.uri"
    spec, _ = pv("$(var(x){s.substr,1,2})")
    assert spec.transforms[0].name == "s.substr"
    assert spec.transforms[0].args == ["1", "2"]
    spec, _ = pv("$(rU{s.replace,a,b})")
    assert spec.transforms[0].args == ["a", "b"]


def test_transform_index_only():
    spec, end = pv("$(avp(x)[*])")
    assert (spec.name, spec.inner, spec.index, spec.transforms) == ("avp", "x", "*", [])
    spec, _ = pv("$(hdr(Via)[-1]{s.len})")
    assert spec.index == -1 and spec.transforms[0].name == "s.len"
    spec, _ = pv("$(ru)")
    assert spec.name == "ru" and spec.transforms == []


def test_transform_pv_args():
    spec, _ = pv("$(rU{s.select,$var(i),;})")
    args = spec.transforms[0].args
    assert isinstance(args[0], PVSpec) and args[0].name == "var" and args[0].inner == "i"
    assert args[1] == ";"
    spec, _ = pv("$(rU{s.substr,0,$(var(n){s.int})})")
    inner = spec.transforms[0].args[1]
    assert isinstance(inner, PVSpec) and inner.transforms[0].name == "s.int"


def test_transform_args_empty_and_nested():
    spec, _ = pv("$(var(x){s.select,1,})")
    assert spec.transforms[0].args == ["1", ""]
    spec, _ = pv("$(var(x){re.subst,/(a,b)/x/})")
    assert spec.transforms[0].args == ["/(a,b)/x/"]
    spec, _ = pv("$(var(x){s.select,0,\\,})")
    assert spec.transforms[0].args == ["0", ","]
    spec, _ = pv("$(var(x){param.value,a}{s.escape.common})")
    assert [t.name for t in spec.transforms] == ["param.value", "s.escape.common"]
    assert spec.transforms[0].args == ["a"]
    spec, _ = pv("$(var(x){s.select,x $var(y)})")
    assert spec.transforms[0].args == ["x $var(y)"]


@pytest.mark.parametrize("text", [
    "$", "$$", "$ x", "$1", "$(", "$()", "$(ru", "$(ru{s.len}", "$(ru{s.len)",
    "$(ru{nodot})", "$(ru{})", "$(ru{.x})", "$var(x", "$var(x\n)", "$(avp(x)[z])",
    "$(ru{s.len}x)", "$-", "${x}",
])
def test_bad(text):
    with pytest.raises(ConfigError) as ei:
        parse_pv(text, 0, P)
    assert ei.value.pos is not None and ei.value.pos.file == "t.cfg"


def test_bad_message_and_position():
    with pytest.raises(ConfigError) as ei:
        parse_pv("$$", 0, P)
    assert str(ei.value) == "t.cfg:3:5: bad pseudo-variable"
    with pytest.raises(ConfigError) as ei:
        parse_pv("$(ru{nodot})", 0, P)
    assert ei.value.pos == Pos("t.cfg", 3, 9)


def test_positions_across_newlines():
    spec, _ = parse_pv("x\n  $(ru{s.len})", 4, Pos("f", 1, 5))
    assert spec.transforms[0].pos == Pos("f", 1, 9)


# -- format strings ---------------------------------------------------------------

def test_format_basic():
    parts = parse_format("sip:$rU@$avp(dom) x", P)
    assert parts[0] == "sip:" and parts[2] == "@" and parts[4] == " x"
    assert (parts[1].name, parts[1].inner) == ("rU", None)
    assert (parts[3].name, parts[3].inner) == ("avp", "dom")
    assert parts[1].pos == Pos("t.cfg", 3, 9)
    assert len(parts) == 5


def test_format_edges():
    parts = parse_format("$rU", P)
    assert len(parts) == 1 and parts[0].name == "rU"
    parts = parse_format("$rU$rd", P)
    assert [p.name for p in parts] == ["rU", "rd"]
    parts = parse_format("a$rU", P)
    assert parts[0] == "a" and parts[1].name == "rU"
    parts = parse_format("$(ru{uri.user}) done\n", P)
    assert parts[0].transforms[0].name == "uri.user" and parts[1] == " done\n"


def test_format_without_pvs():
    assert parse_format("plain text", P) == ["plain text"]
    assert parse_format("", P) == []


@pytest.mark.parametrize("s", ["$", "costs $5", "a $ b", "$$", "50%$", "x$(", "$(ru", "$var(x"])
def test_format_literal_dollar(s):
    assert parse_format(s, P) == [s]


def test_format_literal_dollar_merges_with_text():
    parts = parse_format("$5 and $rU and $", P)
    assert parts[0] == "$5 and " and parts[1].name == "rU" and parts[2] == " and $"


def test_format_multiline_position():
    parts = parse_format("a\nb $ci", P)
    assert parts[1].pos == Pos("t.cfg", 4, 3)


@settings(deadline=None)
@given(st.text())
def test_format_never_raises_and_round_trips(s):
    parts = parse_format(s, P)
    rebuilt = "".join(p if isinstance(p, str) else p.text for p in parts)
    assert rebuilt == s
    for a, b in zip(parts, parts[1:]):
        assert not (isinstance(a, str) and isinstance(b, str))


@settings(deadline=None)
@given(st.text(alphabet="$(){}[],.:=*-_ax1\n\\ ", max_size=30))
def test_parse_pv_only_config_errors(s):
    text = "$" + s
    try:
        spec, end = parse_pv(text, 0, P)
    except ConfigError:
        return
    assert 1 < end <= len(text) and spec.text == text[:end]
