# SPDX-License-Identifier: GPL-2.0-or-later
"""Recursive-descent parser for Kamailio's native config language.

Errors are collected rather than raised one at a time: `kampy -c` should list
every mistake in a config, so the parser resynchronises at the next statement
or top-level item after each error and keeps going.
"""

from .ast import (Assign, Break, Call, Case, Config, ConfigError, ConfigErrors,
                  CoreParam, Drop, Exit, ExprStmt, If, IntLit, Keyword,
                  LoadModule, ModParam, PVRef, Return, Route, StrLit, Switch,
                  UnOp, BinOp, While)
from .lexer import Token, _read_main, lex_text

__all__ = ["parse_config", "parse_config_text"]

_PREC = {
    "||": 1, "&&": 2, "|": 3, "&": 4, "^": 5, "<<": 6, ">>": 6,
    "==": 7, "!=": 7, "=~": 7, "!~": 7, "eq": 7, "ne": 7, "ieq": 7, "ine": 7,
    "<": 8, ">": 8, "<=": 8, ">=": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}
_WORD_OPS = frozenset(("eq", "ne", "ieq", "ine", "and", "or"))
_WORD_ALIASES = {"and": "&&", "or": "||"}   # Kamailio's lexer maps these words
_KEYWORDS = frozenset((
    "method", "uri", "status", "src_ip", "src_port", "dst_ip", "dst_port",
    "proto", "af", "from_uri", "to_uri", "myself", "snd_ip", "snd_port",
    "to_ip", "to_port"))
_UPPER_KEYWORDS = frozenset(("UDP", "TCP", "TLS", "SCTP", "WS", "WSS", "INET", "INET6"))
_RESERVED = frozenset(("if", "else", "switch", "case", "default", "while",
                       "return", "exit", "drop", "break", "defined", "and", "or", "not"))
_ROUTE_KW = {
    "request_route": "request", "route": "route", "failure_route": "failure",
    "branch_route": "branch", "onreply_route": "onreply", "reply_route": "reply",
    "onsend_route": "onsend", "event_route": "event",
}
_TOP_CALLS = frozenset(("loadmodule", "loadmodulex", "modparam"))
_VALUE_STOP = frozenset(("{", "}", "(", ")", ";"))
_MAX_NEST = 60
_MAX_CHAIN = 256     # operators in one chain; keeps trees shallow enough to walk


def _describe(t: Token) -> str:
    if t.kind == "EOF":
        return "end of file"
    if t.kind == "STR":
        return "string %s" % (t.text[:40] or '""')
    if t.kind == "PV":
        return "'%s'" % t.value.text
    return "'%s'" % t.text


class _Parser:
    def __init__(self, tokens, errors):
        self.toks = tokens
        self.i = 0
        self.errors = errors
        self.nest = 0
        self.routes = {}

    # -- token helpers -------------------------------------------------------------

    def peek(self, k=0) -> Token:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else self.toks[-1]

    def next(self) -> Token:
        t = self.peek()
        if self.i < len(self.toks) - 1:
            self.i += 1
        return t

    def at_op(self, v, k=0):
        t = self.peek(k)
        return t.kind == "OP" and t.value == v

    def at_id(self, v=None, k=0):
        t = self.peek(k)
        return t.kind == "ID" and (v is None or t.value == v)

    def fail(self, msg, t=None):
        t = t or self.peek()
        return ConfigError(t.pos, msg)

    def expect_op(self, v, what=""):
        if not self.at_op(v):
            raise self.fail("expected '%s'%s, found %s" % (v, what, _describe(self.peek())))
        return self.next()

    def at_block_breaker(self):
        """A top-level keyword inside a block means a `}` is missing."""
        t = self.peek()
        if t.kind != "ID":
            return False
        if t.value in _ROUTE_KW:
            return self.at_op("[", 1) or self.at_op("{", 1)
        return t.value in _TOP_CALLS

    # -- top level -----------------------------------------------------------------

    def parse(self) -> Config:
        cfg = Config()
        while self.peek().kind != "EOF":
            t = self.peek()
            try:
                if t.kind == "OP" and t.value == ";":
                    self.next()
                elif t.kind == "ID" and t.value in ("loadmodule", "loadmodulex"):
                    self.next()
                    s = self.peek()
                    if s.kind != "STR":
                        raise self.fail("%s needs a quoted module name" % t.value)
                    self.next()
                    cfg.loadmodules.append(LoadModule(s.value, t.pos, self.i))
                elif t.kind == "ID" and t.value == "modparam":
                    cfg.modparams.append(self.modparam())
                elif t.kind == "ID" and t.value in _ROUTE_KW:
                    r = self.route()
                    if r is not None:
                        cfg.routes.append(r)
                elif t.kind == "ID" and (self.at_op("=", 1) or (
                        self.at_op(".", 1) and self.at_id(None, 2) and self.at_op("=", 3))):
                    cfg.params.append(self.core_param())
                else:
                    raise self.fail("unexpected %s at top level" % _describe(t))
            except ConfigError as e:
                self.errors.append(e)
                self.sync_top()
        return cfg

    def sync_top(self):
        if self.at_op("{"):
            self.skip_braces()
        else:
            self.next()
        while True:
            t = self.peek()
            if t.kind == "EOF":
                return
            if t.kind == "ID" and (t.value in _ROUTE_KW or t.value in _TOP_CALLS):
                return
            if t.kind == "ID" and self.at_op("=", 1) and \
                    self.toks[self.i - 1].pos.line != t.pos.line:
                return
            if self.at_op("{"):
                self.skip_braces()
            else:
                self.next()

    def skip_braces(self):
        depth = 0
        while True:
            t = self.peek()
            if t.kind == "EOF":
                return
            if depth > 0 and self.at_block_breaker():
                return
            self.next()
            if t.kind == "OP" and t.value == "{":
                depth += 1
            elif t.kind == "OP" and t.value == "}":
                depth -= 1
                if depth <= 0:
                    return

    def modparam(self):
        kw = self.next()
        self.expect_op("(", " after modparam")
        parts = []
        for k in range(2):
            s = self.peek()
            if s.kind != "STR":
                raise self.fail("modparam needs a quoted %s name, found %s"
                                % (("module", "parameter")[k], _describe(s)))
            self.next()
            parts.append(s.value)
            self.expect_op(",", " in modparam")
        t = self.peek()
        text = ""
        if t.kind == "INT":
            value = self.next().value
            text = t.text
        elif t.kind == "STR":
            value = self.next().value
        elif t.kind == "OP" and t.value == "-" and self.peek(1).kind == "INT":
            self.next()
            n = self.next()
            value = -n.value
            text = "-" + n.text
        else:
            raise self.fail("modparam value must be an integer or a string, found %s"
                            % _describe(t))
        self.expect_op(")", " to close modparam")
        return ModParam(parts[0], parts[1], value, kw.pos, self.i, text)

    def route(self):
        kw = self.next()
        name = None
        if self.at_op("["):
            name = self.route_name()
        elif self.peek().kind == "IP" and self.peek().text.startswith("["):
            name = self.next().text.split("]")[0][1:]
        kind = _ROUTE_KW[kw.value]
        if kind == "route":
            kind = "request" if name is None else "route"
        elif kind == "onreply" and name is None:
            kind = "reply"
        if name is not None and kind in ("request", "reply", "onsend"):
            raise self.fail("%s takes no name" % kw.value, kw)
        if name is None and kind in ("failure", "branch", "event"):
            raise self.fail("%s needs a name: %s[NAME]" % (kw.value, kw.value), kw)
        if not self.at_op("{"):
            raise self.fail("expected '{' after %s, found %s" % (kw.value, _describe(self.peek())))
        body = self.block()
        key = (kind, name)
        if key in self.routes:
            self.errors.append(ConfigError(kw.pos, "duplicate %s%s, first defined at %s" % (
                kw.value, "" if name is None else "[%s]" % name, self.routes[key])))
            return None
        self.routes[key] = kw.pos
        return Route(kind, name, body, kw.pos)

    def route_name(self):
        open_ = self.next()
        toks = []
        while not self.at_op("]"):
            t = self.peek()
            if t.kind in ("EOF", "PV") or (t.kind == "OP" and t.value in _VALUE_STOP) \
                    or t.pos.line != open_.pos.line:
                raise self.fail("expected ']' to close the route name, found %s" % _describe(t))
            toks.append(self.next())
        self.next()
        if not toks:
            raise self.fail("empty route name", open_)
        if len(toks) == 1 and toks[0].kind == "STR":
            name = toks[0].value
        elif len(toks) == 1 and toks[0].kind == "INT":
            name = str(toks[0].value)
        else:
            name = "".join(t.text for t in toks)
        if not name:
            raise self.fail("empty route name", open_)
        return name

    def core_param(self):
        first = self.next()
        name = first.value
        if self.at_op("."):
            self.next()
            name += "." + self.next().value
        eq = self.next()
        toks = []
        while True:
            t = self.peek()
            if t.kind == "EOF" or t.pos.line != eq.pos.line or t.pos.file != eq.pos.file \
                    or (t.kind == "OP" and t.value in _VALUE_STOP):
                break
            toks.append(self.next())
        if not toks:
            raise self.fail("missing value for '%s'" % name, eq if self.peek().kind != "EOF"
                            else self.peek())
        main, extra = toks, {}
        for k in range(1, len(toks)):
            t = toks[k]
            if t.kind == "ID" and t.space and t.value.lower() in ("advertise", "name"):
                main = toks[:k]
                self.listen_extras(name, toks[k:], extra)
                break
        return CoreParam(name, self.param_value(name, main), first.pos, extra)

    def listen_extras(self, name, toks, extra):
        k = 0
        while k < len(toks):
            t = toks[k]
            word = t.value.lower() if t.kind == "ID" else None
            if word == "advertise":
                j = k + 1
                while j < len(toks) and not (toks[j].kind == "ID" and toks[j].space
                                             and toks[j].value.lower() == "name"):
                    j += 1
                if j == k + 1:
                    raise self.fail("missing address after 'advertise'", t)
                extra["advertise"] = _rebuild(toks[k + 1:j])
                k = j
            elif word == "name":
                if k + 1 >= len(toks) or toks[k + 1].kind not in ("STR", "ID"):
                    raise self.fail("'name' needs a quoted string", t)
                extra["name"] = toks[k + 1].value
                k += 2
            else:
                raise self.fail("unexpected %s in the value of '%s'" % (_describe(t), name), t)

    def param_value(self, name, toks):
        if len(toks) == 1:
            t = toks[0]
            if t.kind == "INT":
                return t.value
            if t.kind == "STR":
                return t.value
            if t.kind in ("ID", "IP"):
                return t.text
        if len(toks) == 2 and toks[0].kind == "OP" and toks[0].value == "-" \
                and toks[1].kind == "INT":
            return -toks[1].value
        if len(toks) == 1 and toks[0].kind == "OP":
            raise self.fail("bad value for '%s': %s" % (name, _describe(toks[0])), toks[0])
        return _rebuild(toks)

    # -- statements ----------------------------------------------------------------

    def block(self):
        open_ = self.expect_op("{")
        self.nest += 1
        try:
            if self.nest > _MAX_NEST:
                raise self.fail("blocks nested too deeply", open_)
            body = self.stmt_list(())
        finally:
            self.nest -= 1
        if self.at_op("}"):
            self.next()
        else:
            self.missing_brace(open_)
        return body

    def missing_brace(self, open_):
        t = self.peek()
        self.errors.append(ConfigError(t.pos, "missing '}' before %s (block opened at %s)"
                                       % (_describe(t), open_.pos)))

    def stmt_list(self, stop_words):
        stmts = []
        while True:
            t = self.peek()
            if t.kind == "EOF" or (t.kind == "OP" and t.value == "}"):
                return stmts
            if t.kind == "ID" and t.value in stop_words:
                return stmts
            if self.at_block_breaker():
                return stmts
            try:
                stmts.extend(self.statement())
            except ConfigError as e:
                self.errors.append(e)
                self.sync_stmt()

    def sync_stmt(self):
        while True:
            t = self.peek()
            if t.kind == "EOF" or self.at_block_breaker():
                return
            if t.kind == "OP":
                if t.value == ";":
                    self.next()
                    return
                if t.value == "}":
                    return
                if t.value == "{":
                    self.skip_braces()
                    if self.at_id("else"):
                        continue
                    return
            self.next()

    def end_stmt(self):
        if self.at_op(";"):
            self.next()
            return
        t = self.peek()
        prev = self.toks[self.i - 1] if self.i > 0 else t
        err = ConfigError(t.pos, "missing ';' before %s" % _describe(t))
        if t.kind != "EOF" and prev.pos.line != t.pos.line and not self.at_op("}"):
            self.errors.append(err)      # a new line: carry on as if it were there
            return
        raise err

    def body(self):
        if self.at_op("{"):
            return self.block()
        self.nest += 1
        try:
            if self.nest > _MAX_NEST:
                raise self.fail("statements nested too deeply")
            return self.statement()
        finally:
            self.nest -= 1

    def statement(self) -> list:
        t = self.peek()
        if t.kind == "OP" and t.value == "{":
            return self.block()
        if t.kind == "OP" and t.value == ";":
            self.next()
            return []
        if t.kind == "PV":
            if self.at_op("=", 1) or self.at_op(":=", 1):
                self.next()
                op = self.next().value
                value = self.expr()
                self.end_stmt()
                return [Assign(t.value, op, value, t.pos)]
            raise self.fail("expected '=' or ':=' after %s, found %s"
                            % (_describe(t), _describe(self.peek(1))), self.peek(1))
        if t.kind == "ID":
            w = t.value
            if w == "if":
                return [self.if_stmt()]
            if w == "switch":
                return [self.switch_stmt()]
            if w == "while":
                self.next()
                cond = self.expr()
                return [While(cond, self.body(), t.pos)]
            if w == "return":
                self.next()
                value = None if self.at_op(";") else self.expr()
                self.end_stmt()
                return [Return(value, t.pos)]
            if w in ("exit", "drop", "break"):
                self.next()
                if w != "break" and self.at_op("("):
                    self.next()
                    self.expect_op(")", " after %s(" % w)
                self.end_stmt()
                return [{"exit": Exit, "drop": Drop, "break": Break}[w](t.pos)]
            if w in _RESERVED and w not in ("defined", "not"):
                raise self.fail("unexpected '%s'" % w)
            e = self.expr()
            self.end_stmt()
            return [ExprStmt(e, t.pos)]
        if t.kind == "OP" and t.value in ("!", "("):
            e = self.expr()
            self.end_stmt()
            return [ExprStmt(e, t.pos)]
        raise self.fail("unexpected %s" % _describe(t))

    def if_stmt(self):
        kw = self.next()
        cond = self.expr()
        then = self.body()
        orelse = None
        if self.at_id("else"):
            self.next()
            if self.at_id("if"):
                self.nest += 1
                try:
                    if self.nest > _MAX_NEST:
                        raise self.fail("statements nested too deeply")
                    orelse = [self.if_stmt()]
                finally:
                    self.nest -= 1
            else:
                orelse = self.body()
        return If(cond, then, orelse, kw.pos)

    def switch_stmt(self):
        kw = self.next()
        value = self.expr()
        open_ = self.expect_op("{", " after switch (...)")
        cases = []
        seen_default = None
        self.nest += 1
        try:
            if self.nest > _MAX_NEST:
                raise self.fail("blocks nested too deeply", open_)
            while True:
                t = self.peek()
                if t.kind == "OP" and t.value == "}":
                    self.next()
                    break
                if t.kind == "EOF" or self.at_block_breaker():
                    self.missing_brace(open_)
                    break
                try:
                    label = self.case_label()
                except ConfigError as e:
                    self.errors.append(e)
                    if self.sync_case():
                        self.stmt_list(("case", "default"))   # still check the body
                    continue
                if label.value is None:
                    if seen_default is not None:
                        self.errors.append(ConfigError(label.pos, "second 'default' in switch"))
                    seen_default = label
                label.body = self.stmt_list(("case", "default"))
                cases.append(label)
        finally:
            self.nest -= 1
        return Switch(value, cases, kw.pos)

    def case_label(self):
        t = self.peek()
        if self.at_id("default"):
            self.next()
            self.expect_op(":", " after default")
            return Case(None, [], t.pos)
        if not self.at_id("case"):
            raise self.fail("expected 'case' or 'default', found %s" % _describe(t))
        self.next()
        v = self.peek()
        if v.kind == "INT":
            value = IntLit(self.next().value, v.pos)
        elif v.kind == "STR":
            value = StrLit(self.next().value, v.pos, v.quote or '"')
        elif v.kind == "OP" and v.value == "-" and self.peek(1).kind == "INT":
            self.next()
            value = IntLit(-self.next().value, v.pos)
        else:
            raise self.fail("case needs an integer or a string, found %s" % _describe(v))
        self.expect_op(":", " after the case value")
        return Case(value, [], t.pos)

    def sync_case(self):
        """Skip a broken case label; True when its `:` was found."""
        self.next()
        while True:
            t = self.peek()
            if t.kind == "EOF" or self.at_block_breaker() or self.at_op("}") \
                    or self.at_id("case") or self.at_id("default"):
                return False
            if self.at_op(":"):
                self.next()
                return True
            self.next()

    # -- expressions ---------------------------------------------------------------

    def expr(self, minp=1):
        left = self.unary()
        count = 0
        while True:
            t = self.peek()
            if t.kind == "OP" and t.value in _PREC:
                op = t.value
            elif t.kind == "ID" and t.value in _WORD_OPS:
                op = _WORD_ALIASES.get(t.value, t.value)
            else:
                return left
            prec = _PREC[op]
            if prec < minp:
                return left
            count += 1
            if count > _MAX_CHAIN:
                raise self.fail("expression too long")
            self.next()
            right = self.expr(prec + 1)
            left = BinOp(op, left, right, left.pos)

    def unary(self):
        t = self.peek()
        self.nest += 1
        try:
            if self.nest > _MAX_NEST:
                raise self.fail("expression nested too deeply")
            if (t.kind == "OP" and t.value in ("!", "~")) or \
                    (t.kind == "ID" and t.value == "not"):
                self.next()
                return UnOp("~" if t.value == "~" else "!", self.unary(), t.pos)
            if t.kind == "OP" and t.value == "-":
                self.next()
                if self.peek().kind == "INT":
                    return IntLit(-self.next().value, t.pos)
                return UnOp("-", self.unary(), t.pos)
            if t.kind == "ID" and t.value == "defined":
                self.next()
                return UnOp("defined", self.unary(), t.pos)
            if t.kind == "OP" and t.value == "(" and self.peek(1).kind == "ID" \
                    and self.peek(1).value in ("int", "str") and self.at_op(")", 2):
                self.next()
                cast = self.next().value
                self.next()
                return UnOp("(%s)" % cast, self.unary(), t.pos)
            return self.primary()
        finally:
            self.nest -= 1

    def primary(self):
        t = self.peek()
        k = t.kind
        if k == "INT":
            self.next()
            return IntLit(t.value, t.pos)
        if k == "STR":
            self.next()
            return StrLit(t.value, t.pos, t.quote or '"')
        if k == "IP":
            self.next()
            return StrLit(t.value, t.pos, "ip")
        if k == "PV":
            self.next()
            return PVRef(t.value, t.pos)
        if k == "OP" and t.value == "(":
            self.next()
            e = self.expr()
            self.expect_op(")", " to close '(' at %s" % t.pos)
            return e
        if k == "ID":
            w = t.value
            if w == "msg" and self.at_op(":", 1) and self.at_id("len", 2):
                self.i += 3
                return Keyword("msg:len", t.pos)
            if self.at_op("(", 1):
                return self.call()
            if w in _RESERVED:
                raise self.fail("unexpected '%s' in an expression" % w)
            self.next()
            if w[0].isdigit():
                raise self.fail("bad number '%s' (a leading 0 means octal; letters are not digits)" % w, t)
            if w in _KEYWORDS:
                return Keyword(w, t.pos)
            if w.upper() in _UPPER_KEYWORDS:
                return Keyword(w.upper(), t.pos)
            return Call(w, [], t.pos)
        raise self.fail("expected a value, found %s" % _describe(t))

    def call(self):
        name = self.next()
        self.next()      # "("
        args = []
        if name.value in _SOCKET_FUNCS and self.peek().kind != "STR" and not self.at_op(")"):
            # Kamailio's grammar takes a bare socket here: force_send_socket(udp:1.2.3.4:5060)
            toks = []
            while not self.at_op(")") and self.peek().kind != "EOF":
                toks.append(self.next())
            if not any(t.kind == "PV" for t in toks):
                self.expect_op(")", " to close the arguments of %s()" % name.value)
                return Call(name.value, [StrLit(_rebuild(toks), toks[0].pos)], name.pos)
            raise self.fail("%s(): a socket or a quoted string" % name.value, name)
        if not self.at_op(")"):
            while True:
                t = self.peek()
                if t.kind == "ID" and (self.at_op(",", 1) or self.at_op(")", 1)) and \
                        (name.value == "route" or not _is_keyword(t.value)):
                    self.next()
                    args.append(StrLit(t.value, t.pos))
                else:
                    args.append(self.expr())
                if self.at_op(","):
                    self.next()
                    continue
                break
        self.expect_op(")", " to close the arguments of %s()" % name.value)
        if name.value == "route":
            if len(args) != 1:
                raise self.fail("route() needs exactly one route name", name)
            if isinstance(args[0], IntLit):
                args[0] = StrLit(str(args[0].value), args[0].pos)
        return Call(name.value, args, name.pos)


_SOCKET_FUNCS = ("force_send_socket", "set_send_socket", "set_recv_socket")


def _is_keyword(w):
    return w in _KEYWORDS or w.upper() in _UPPER_KEYWORDS or w in _RESERVED


def _rebuild(toks):
    """The source text of a socket/host spec, spacing kept as written."""
    out = []
    for k, t in enumerate(toks):
        if k and t.space:
            out.append(" ")
        out.append(t.value if t.kind == "STR" else t.text)
    return "".join(out)


def parse_partial(text, filename, defines):
    """(Config or None, errors): the recovered tree and every syntax error, so
    the compiler can still report the other errors of the config in one run."""
    tokens, defs, errors = lex_text(text, filename, defines)
    p = _Parser(tokens, errors)
    try:
        cfg = p.parse()
    except RecursionError:
        errors.append(ConfigError(p.peek().pos, "config nested too deeply"))
        cfg = None
    if cfg is not None:
        cfg.defines = defs
    return cfg, errors


def parse_config_file_partial(path, defines=None):
    return parse_partial(_read_main(path), path, defines)


def _parse(text, filename, defines):
    cfg, errors = parse_partial(text, filename, defines)
    if errors:
        raise ConfigErrors(errors)
    return cfg


def parse_config_text(text: str, filename: str = "<config>", defines=None) -> Config:
    return _parse(text, filename, defines)


def parse_config(path: str, defines: dict | None = None) -> Config:
    return _parse(_read_main(path), path, defines)
