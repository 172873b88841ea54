# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests for kampy.script.lexer: preprocessor directives and tokens."""

import os

import pytest

from kampy.script.ast import ConfigErrors, Pos, PVSpec
from kampy.script.lexer import Token, tokenize, tokenize_text

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "parse_cfg")


def toks(text, defines=None, fname="t.cfg"):
    tokens, _ = tokenize_text(text, fname, defines)
    assert tokens[-1].kind == "EOF"
    return tokens[:-1]


def kv(text, defines=None):
    return [(t.kind, t.value) for t in toks(text, defines)]


def errors(text, defines=None, fname="t.cfg"):
    with pytest.raises(ConfigErrors) as ei:
        tokenize_text(text, fname, defines)
    assert ei.value.errors
    return [str(e) for e in ei.value.errors]


# -- basic tokens -----------------------------------------------------------------

def test_token_slots():
    t = toks("abc")[0]
    assert isinstance(t, Token)
    assert (t.kind, t.value, t.pos) == ("ID", "abc", Pos("t.cfg", 1, 1))


def test_identifiers_and_keywords_are_ids():
    assert kv("if foo_bar _x t_relay msg") == [
        ("ID", "if"), ("ID", "foo_bar"), ("ID", "_x"), ("ID", "t_relay"), ("ID", "msg")]


def test_numbers():
    assert kv("0 42 0x1F 0XfF") == [("INT", 0), ("INT", 42), ("INT", 31), ("INT", 255)]
    assert kv("-1") == [("OP", "-"), ("INT", 1)]


def test_numbers_octal_and_binary_as_kamailio():
    """cfg.lex: OCTNUMBER 0[0-7]+ (a leading 0 is octal), BINNUMBER [0-1]+b."""
    assert kv("010 0755 00 007") == [("INT", 8), ("INT", 493), ("INT", 0), ("INT", 7)]
    assert kv("101b 0b 1b 010b") == [("INT", 5), ("INT", 0), ("INT", 1), ("INT", 2)]


def test_numbers_glued_to_letters_are_words():
    """Kamailio's NUM_ID: "08", "12ab", "3com" are not numbers (a host label
    may start with a digit)."""
    assert kv("08 0789 12ab 3com 2b") == [("ID", "08"), ("ID", "0789"), ("ID", "12ab"),
                                          ("ID", "3com"), ("ID", "2b")]


def test_number_too_large():
    assert errors("x = " + "9" * 60) == ["t.cfg:1:5: number too large"]


def test_operators():
    ops = "( ) { } [ ] ; , : = := == != =~ !~ < > <= >= + - * / % | & ^ ~ << >> && || ! ."
    assert [t.value for t in toks(ops)] == ops.split()
    assert all(t.kind == "OP" for t in toks(ops))
    assert [t.value for t in toks("a==b!=c<=d")] == ["a", "==", "b", "!=", "c", "<=", "d"]
    assert [t.value for t in toks("$x:=1")][1:] == [":=", 1]


def test_msg_len_is_three_tokens():
    assert kv("msg:len") == [("ID", "msg"), ("OP", ":"), ("ID", "len")]


def test_ipv4_and_ipv6():
    assert kv("127.0.0.1 10.0.0.0/8 [::1] [2001:db8::1]") == [
        ("IP", "127.0.0.1"), ("IP", "10.0.0.0/8"), ("IP", "[::1]"), ("IP", "[2001:db8::1]")]
    assert kv("udp:127.0.0.1:5060") == [
        ("ID", "udp"), ("OP", ":"), ("IP", "127.0.0.1"), ("OP", ":"), ("INT", 5060)]
    assert kv("udp:[::1]:5060") == [
        ("ID", "udp"), ("OP", ":"), ("IP", "[::1]"), ("OP", ":"), ("INT", 5060)]


def test_brackets_that_are_not_ipv6():
    assert [t.kind for t in toks("route[1]")] == ["ID", "OP", "INT", "OP"]
    assert [t.kind for t in toks("event_route[abc:def]")] == ["ID", "OP", "ID", "OP", "ID", "OP"]


def test_hostnames_are_id_sequences():
    assert [t.value for t in toks("sip.example.com")] == ["sip", ".", "example", ".", "com"]
    assert [t.value for t in toks("1.2.3.4.example")][:2] == [1, "."]


def test_pv_tokens():
    t = toks("$var(x) = $(ru{s.len});")
    assert t[0].kind == "PV" and isinstance(t[0].value, PVSpec)
    assert t[0].value.name == "var" and t[0].value.inner == "x"
    assert t[2].kind == "PV" and t[2].value.transforms[0].name == "s.len"
    assert t[2].pos == Pos("t.cfg", 1, 11) and t[2].value.pos == Pos("t.cfg", 1, 11)
    assert t[3].value == ";"


def test_bad_pv_is_an_error():
    assert errors("a = $$;") == ["t.cfg:1:5: bad pseudo-variable"]
    assert errors("\n  x($(ru{s.len)") == ["t.cfg:2:9: unbalanced ')' in transformation"]


def test_unexpected_character():
    assert errors("a @ b\n  ?") == ["t.cfg:1:3: unexpected character '@'",
                                    "t.cfg:2:3: unexpected character '?'"]


def test_positions_lines_columns_and_tabs():
    t = toks("a\n\tb  c\n\n  $x")
    assert [(x.pos.line, x.pos.col) for x in t] == [(1, 1), (2, 2), (2, 5), (4, 3)]
    assert t[0].pos.file == "t.cfg"


def test_crlf_lines():
    t = toks("a\r\nb\r\n")
    assert [(x.value, x.pos.line, x.pos.col) for x in t] == [("a", 1, 1), ("b", 2, 1)]


def test_eof_token():
    tokens, _ = tokenize_text("a\nbc", "t.cfg")
    assert tokens[-1].kind == "EOF" and tokens[-1].pos == Pos("t.cfg", 2, 3)
    tokens, _ = tokenize_text("", "t.cfg")
    assert [t.kind for t in tokens] == ["EOF"]


# -- strings ----------------------------------------------------------------------

def test_string_escapes():
    assert kv(r'"a\"b\\c\nd\re\tf"') == [("STR", 'a"b\\c\nd\re\tf')]
    assert kv(r'"\d+\.x"') == [("STR", r"\d+\.x")]
    assert kv(r"'it\'s\n'") == [("STR", "it's\n")]
    assert kv(r"""'say "hi"'""") == [("STR", 'say "hi"')]


def test_string_quote_attribute():
    assert toks('"a"')[0].quote == '"'
    assert toks("'a'")[0].quote == "'"


def test_string_concatenation():
    assert kv('"a" "b"') == [("STR", "ab")]
    assert kv('"a"\n  \'b\' "c" x') == [("STR", "abc"), ("ID", "x")]
    t = toks('x "a" "b"')
    assert t[1].pos == Pos("t.cfg", 1, 3)


def test_string_spanning_lines():
    t = toks('"a\nb" c')
    assert t[0].value == "a\nb" and t[1].pos == Pos("t.cfg", 2, 4)


def test_unterminated_string():
    assert errors('x = 1;\n  y = "abc') == ["t.cfg:2:7: unterminated string"]
    assert errors("'abc") == ["t.cfg:1:1: unterminated string"]


# -- comments ---------------------------------------------------------------------

def test_comments():
    text = "a # hash\nb // slashes\nc /* block\n more */ d\n/* x */e"
    assert [t.value for t in toks(text)] == ["a", "b", "c", "d", "e"]
    assert toks(text)[3].pos == Pos("t.cfg", 4, 10)


def test_comment_markers_inside_strings():
    assert kv('"a # b" "c // d" "/* e */"') == [("STR", "a # bc // d/* e */")]


def test_unterminated_block_comment():
    assert errors("a\n  /* never closed\n") == ["t.cfg:2:3: unterminated /* comment"]


def test_shebang_like_line_is_a_comment():
    assert kv("#!/usr/sbin/kamailio\nx") == [("ID", "x")]


# -- directives -------------------------------------------------------------------

def test_headers_are_ignored():
    for h in ("KAMAILIO", "KAMPY", "OPENSER", "SER", "MAXCOMPAT", "ALL"):
        assert kv("#!%s\nx" % h) == [("ID", "x")]
        assert kv("!!%s\nx" % h) == [("ID", "x")]


def test_unknown_directive():
    assert errors("x\n#!bogus y\n") == ["t.cfg:2:1: unknown preprocessor directive '#!bogus'"]
    assert errors("  #!ifexp A > 1\n") == ["t.cfg:1:3: unknown preprocessor directive '#!ifexp'"]


def test_define_values():
    text = ("#!define A 1\n#!define B \"s # x\" # comment\n#!define C\n"
            "#!define D udp:1.2.3.4:5060 // c\n#!define E a \\\n  + b\n")
    _, d = tokenize_text(text, "t.cfg")
    assert d["A"] == "1" and d["B"] == '"s # x"' and d["C"] is None
    assert d["D"] == "udp:1.2.3.4:5060" and d["KAMPY"] is None
    assert d["E"].split() == ["a", "+", "b"]
    assert kv(text + "A B C D E") == [
        ("INT", 1), ("STR", "s # x"), ("ID", "udp"), ("OP", ":"), ("IP", "1.2.3.4"),
        ("OP", ":"), ("INT", 5060), ("ID", "a"), ("OP", "+"), ("ID", "b")]


def test_define_continuation_keeps_later_positions():
    t = toks("#!define E a \\\n  b\nx")
    assert t[0].pos == Pos("t.cfg", 3, 1)


def test_define_replacement_position_is_the_use_site():
    t = toks("#!define V 1 + 2\n\n  x = V;")
    assert [x.pos for x in t[2:5]] == [Pos("t.cfg", 3, 7)] * 3


def test_define_not_replaced_in_strings_or_pv_names():
    t = toks('#!define X 1\n"X" $var(X) X_Y')
    assert [(x.kind, x.text) for x in t] == [("STR", '"X"'), ("PV", "$var(X)"), ("ID", "X_Y")]
    assert t[1].value.inner == "X"


def test_define_recursive_and_loop():
    assert kv("#!define A B + 1\n#!define B 2\nA") == [("INT", 2), ("OP", "+"), ("INT", 1)]
    assert errors("#!define A B\n#!define B A\n\nA") == ["t.cfg:4:1: define 'A' refers to itself"]
    assert errors("#!define A x A\nA") == ["t.cfg:2:1: define 'A' refers to itself"]


def test_define_twice_trydef_redefine():
    assert errors("#!define A 1\n#!define A 2\n") == ["t.cfg:2:1: 'A' already defined"]
    _, d = tokenize_text("#!define A 1\n#!trydef A 2\n#!trydef B 3\n", "t.cfg")
    assert d["A"] == "1" and d["B"] == "3"
    _, d = tokenize_text("#!define A 1\n#!redefine A 2\n#!redefine N\n", "t.cfg")
    assert d["A"] == "2" and d["N"] is None


def test_define_errors():
    assert errors("#!define\n") == ["t.cfg:1:1: #!define needs a name"]
    assert errors("\n #!define A-B 1\n") == ["t.cfg:2:2: bad name in #!define: 'A-B'"]


def test_bang_bang_prefix():
    assert kv("!!define A 5\n!!ifdef A\nA\n!!endif") == [("INT", 5)]
    assert kv("!!x") == [("OP", "!"), ("OP", "!"), ("ID", "x")]
    assert kv("!!defined $x")[:3] == [("OP", "!"), ("OP", "!"), ("ID", "defined")]


def test_ifdef_else_nested():
    text = """#!define A
#!ifdef A
a1
#!ifndef B
nb
#!ifdef C
c
#!else
notc
#!endif
#!else
b
#!endif
#!else
nota
#!endif
end"""
    assert [t.value for t in toks(text)] == ["a1", "nb", "notc", "end"]
    assert [t.value for t in toks(text, {"B": None})] == ["a1", "b", "end"]
    assert [t.value for t in toks(text[len("#!define A\n"):])] == ["nota", "end"]


def test_skipped_region_is_not_lexed():
    text = '#!ifdef NOPE\n"unterminated @ $$ /* \n#!define X 1\n#!bogus\n#!endif\nok'
    tokens, d = tokenize_text(text, "t.cfg")
    assert [t.value for t in tokens[:-1]] == ["ok"] and "X" not in d


def test_ifdef_errors_with_positions():
    assert errors("a\n\n  #!endif\n") == ["t.cfg:3:3: #!endif without #!ifdef"]
    assert errors("#!else\n") == ["t.cfg:1:1: #!else without #!ifdef"]
    assert errors("x\n#!ifdef A\n#!ifndef B\n#!endif\n") == ["t.cfg:2:1: #!ifdef without #!endif"]
    assert errors("#!ifdef A\n#!else\n#!else\n#!endif") == [
        "t.cfg:3:1: second #!else for the same #!ifdef"]
    assert errors("#!ifdef\n#!endif") == ["t.cfg:1:1: #!ifdef needs a name"]
    assert errors("#!ifdef A B\n#!endif") == ["t.cfg:1:1: unexpected text after #!ifdef A"]


def test_ifdef_trailing_comment_ok():
    assert kv("#!ifdef KAMPY // always\nx\n#!endif # done") == [("ID", "x")]


def test_kampy_is_always_defined():
    assert kv("#!ifdef KAMPY\nyes\n#!else\nno\n#!endif") == [("ID", "yes")]
    assert kv("KAMPY x") == [("ID", "x")]


def test_command_line_defines():
    assert kv("modparam(DBURL)", {"DBURL": '"sqlite:///tmp/x.db"'}) == [
        ("ID", "modparam"), ("OP", "("), ("STR", "sqlite:///tmp/x.db"), ("OP", ")")]
    assert kv("#!ifdef WITH_X\nx\n#!endif", {"WITH_X": None}) == [("ID", "x")]
    _, d = tokenize_text("", "t.cfg", {"A": "1"})
    assert d == {"KAMPY": None, "A": "1"}
    assert errors("#!define A 2", {"A": "1"}) == ["t.cfg:1:1: 'A' already defined"]


def test_subst():
    text = '#!subst "/alice/bob/"\n"alice alice" alice\n#!subst "/B(o)B/[\\1]/gi"\n"bob Bob"'
    assert kv(text) == [("STR", "bob alice"), ("ID", "alice"), ("STR", "[o] [o]")]
    assert kv('#!subst "|a/b|c|g"\n"a/b a/b"') == [("STR", "c c")]
    assert kv('#!subst "/a\\/b/c/"\n"a/b"') == [("STR", "c")]
    assert kv('"before"\n#!subst "/before/after/"\n"before"') == [("STR", "beforeafter")]


def test_subst_errors():
    assert errors('#!subst "/a/b"') == ["t.cfg:1:1: bad #!subst expression '/a/b'"]
    assert errors('#!subst "/a/b/q"') == ["t.cfg:1:1: bad flag 'q' in #!subst"]
    assert errors("#!subst /a/b/") == ['t.cfg:1:1: #!subst needs a quoted "/regex/replacement/flags"']
    assert errors('#!subst "/(/b/"')[0].startswith("t.cfg:1:1: bad regular expression in #!subst")
    assert errors('x\n#!subst "/a/b/') == ["t.cfg:2:1: unterminated string in #!subst"]


def test_substdef_and_substdefs():
    text = '#!substdef "!MY_IP!192.0.2.1!g"\nlisten=MY_IP "sip:MY_IP:5060"'
    tokens, d = tokenize_text(text, "t.cfg")
    assert d["MY_IP"] == "192.0.2.1"
    assert [(t.kind, t.value) for t in tokens[:-1]] == [
        ("ID", "listen"), ("OP", "="), ("IP", "192.0.2.1"), ("STR", "sip:192.0.2.1:5060")]
    tokens, d = tokenize_text('#!substdefs "/DOM/example.com/"\nx=DOM', "t.cfg")
    assert d["DOM"] == '"example.com"' and tokens[2].kind == "STR"
    assert tokens[2].value == "example.com"


def test_defenv(monkeypatch):
    monkeypatch.setenv("KAMPY_TEST_PORT", "5080")
    monkeypatch.setenv("KAMPY_TEST_HOST", "a b")
    monkeypatch.delenv("KAMPY_TEST_NOPE", raising=False)
    assert kv("#!defenv P=KAMPY_TEST_PORT\nP") == [("INT", 5080)]
    assert kv("#!defenv KAMPY_TEST_PORT\nKAMPY_TEST_PORT") == [("INT", 5080)]
    assert kv("#!defenvs H=KAMPY_TEST_HOST\nH") == [("STR", "a b")]
    assert kv("#!trydefenv X=KAMPY_TEST_NOPE\n#!ifdef X\nbad\n#!endif") == []
    assert kv("#!define P 1\n#!trydefenv P=KAMPY_TEST_PORT\nP") == [("INT", 1)]
    assert errors("\n#!defenv X=KAMPY_TEST_NOPE") == [
        "t.cfg:2:1: environment variable 'KAMPY_TEST_NOPE' is not set"]
    assert errors("#!defenv =X") == ["t.cfg:1:1: #!defenv needs NAME=ENVVAR"]


def test_several_errors_are_all_reported():
    errs = errors("#!bogus\n\"open")
    assert errs == ["t.cfg:1:1: unknown preprocessor directive '#!bogus'",
                    "t.cfg:2:1: unterminated string"]


# -- includes ---------------------------------------------------------------------

def test_include_and_import_from_fixtures():
    path = os.path.join(FIX, "inc_main.cfg")
    tokens, d = tokenize(path)
    words = [t.value for t in tokens if t.kind == "ID"]
    assert words[:3] == ["debug", "children", "route"]
    first = tokens[0]
    assert first.pos == Pos(os.path.join(FIX, "inc", "params.cfg"), 2, 1)
    leaf = [t for t in tokens if t.value == "children"][0]
    assert leaf.pos == Pos(os.path.join(FIX, "inc", "leaf.cfg"), 1, 1)
    # FROM_MAIN, defined in the main file, is replaced inside the included leaf
    assert tokens[tokens.index(leaf) + 2].value == 1
    route = [t for t in tokens if t.value == "xlog"][0]
    assert route.pos == Pos(os.path.join(FIX, "inc", "routes.cfg"), 2, 2)
    req = [t for t in tokens if t.value == "request_route"][0]
    assert req.pos == Pos(path, 7, 1)


def test_include_loop():
    path = os.path.join(FIX, "loop_a.cfg")
    with pytest.raises(ConfigErrors) as ei:
        tokenize(path)
    msgs = [str(e) for e in ei.value.errors]
    assert msgs == ["%s:2:1: include loop: '%s' is already being included"
                    % (os.path.join(FIX, "loop_b.cfg"), os.path.join(FIX, "loop_a.cfg"))]


def test_missing_include_file():
    path = os.path.join(FIX, "inc_missing.cfg")
    with pytest.raises(ConfigErrors) as ei:
        tokenize(path)
    assert [str(e) for e in ei.value.errors] == [
        "%s:2:3: cannot find included file '%s'" % (path, os.path.join(FIX, "no/such/file.cfg"))]


def test_include_relative_to_including_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "main.cfg").write_text('x\ninclude_file "a/one.cfg"\nz\n')
    (tmp_path / "a" / "one.cfg").write_text('#!include_file "b/two.cfg"\n  y1\n')
    (tmp_path / "a" / "b" / "two.cfg").write_text("\n\ty2 import_file 'gone.cfg' y3\n")
    main = str(tmp_path / "main.cfg")
    tokens, _ = tokenize(main)
    got = [(t.value, t.pos) for t in tokens[:-1]]
    assert got == [
        ("x", Pos(main, 1, 1)),
        ("y2", Pos(str(tmp_path / "a" / "b" / "two.cfg"), 2, 2)),
        ("y3", Pos(str(tmp_path / "a" / "b" / "two.cfg"), 2, 28)),
        ("y1", Pos(str(tmp_path / "a" / "one.cfg"), 2, 3)),
        ("z", Pos(main, 3, 1)),
    ]


def test_include_errors(tmp_path):
    (tmp_path / "self.cfg").write_text('include_file "self.cfg"\n')
    with pytest.raises(ConfigErrors) as ei:
        tokenize(str(tmp_path / "self.cfg"))
    assert "include loop" in str(ei.value)
    assert errors("include_file x") == ["t.cfg:1:1: include_file needs a quoted file name"]
    assert errors('import_file ""') == ["t.cfg:1:1: empty file name"]


def test_included_file_has_its_own_ifdef_balance(tmp_path):
    (tmp_path / "inc.cfg").write_text("#!ifdef A\n")
    (tmp_path / "main.cfg").write_text('include_file "inc.cfg"\n#!endif\n')
    with pytest.raises(ConfigErrors) as ei:
        tokenize(str(tmp_path / "main.cfg"))
    assert [str(e) for e in ei.value.errors] == [
        "%s:1:1: #!ifdef without #!endif" % (tmp_path / "inc.cfg"),
        "%s:2:1: #!endif without #!ifdef" % (tmp_path / "main.cfg")]


def test_defines_cross_include_boundaries(tmp_path):
    (tmp_path / "defs.cfg").write_text("#!define PORT 5070\n")
    (tmp_path / "main.cfg").write_text('import_file "defs.cfg"\nport=PORT\n')
    tokens, d = tokenize(str(tmp_path / "main.cfg"))
    assert d["PORT"] == "5070" and tokens[2].value == 5070


def test_missing_main_file(tmp_path):
    with pytest.raises(ConfigErrors) as ei:
        tokenize(str(tmp_path / "nope.cfg"))
    assert "cannot read config file" in str(ei.value)


def test_include_not_processed_in_skipped_region():
    assert kv('#!ifdef NOPE\ninclude_file "missing.cfg"\n#!endif\nok') == [("ID", "ok")]
