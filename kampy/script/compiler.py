# SPDX-License-Identifier: GPL-2.0-or-later
"""The config compiler: syntax tree → Python source → code objects, once.

Theory of operation.  `compile_config()` parses the config, checks the core
parameters, loads the modules and applies their modparams, then generates one
Python function per route.  Everything a route uses at run time — module
functions, resolved PV objects, compiled regexes, prepared format strings —
is bound to a name in the generated module's namespace at startup, so a run
does no lookups by name and never looks at the syntax tree.  Each generated
statement is preceded by a `# file:line` comment and the source is registered
in linecache, so a traceback shows the config line it came from.

Every error found is collected and raised together (ConfigErrors) so that
`kampy -c` reports them all in one run.
"""

import linecache
import os
import re

from .. import loader
from ..module import (
    ANY_ROUTE, BRANCH_FAILURE_ROUTE, BRANCH_ROUTE, CORE_REPLY_ROUTE, EVENT_ROUTE,
    FAILURE_ROUTE, ONREPLY_ROUTE, ONSEND_ROUTE, REQUEST_ROUTE, ROUTE_NAMES,
    BranchRouteName, FailureRouteName, Flag, Fmt, Int, IntV, PVR, PVW, Regex,
    RegexV, ReplyRouteName, RouteName, Str,
)
from . import ast as A
from . import runtime_ops as ops
from .context import ScriptExit
from .inline import InlineCode
from .pv import Registry, to_int, to_str
from .pv_core import _MISS, AvpPV, VarPV
from .regex import compile_posix

ROUTE_KIND_TYPE = {
    "request": REQUEST_ROUTE, "route": 0, "failure": FAILURE_ROUTE,
    "branch": BRANCH_ROUTE, "onreply": ONREPLY_ROUTE, "reply": CORE_REPLY_ROUTE,
    "onsend": ONSEND_ROUTE, "event": EVENT_ROUTE, "branch_failure": BRANCH_FAILURE_ROUTE,
}


class Script:
    """A compiled config: route functions, core settings, loaded modules."""

    def __init__(self):
        self.request_route = None
        self.reply_route = None
        self.onsend_route = None
        self.routes = {}            # route[NAME]
        self.failure_routes = {}
        self.branch_routes = {}
        self.onreply_routes = {}
        self.event_routes = {}      # "uac:reply" -> fn
        self.core_params = {}
        self.sockets = []
        self.aliases = []
        self.modules = {}           # name -> Module (load order)
        self.defines = {}
        self.source = ""
        self.filename = ""
        self.registry = None
        self.lines = {}             # generated line -> Pos


def _fail(ctx, exc, pos):
    """A module function raised: log it with the config position, count -1."""
    try:
        ctx.rt.log(-1, "%s: function failed: %r" % (pos, exc))
    except Exception:
        pass
    return -1


def _exit():
    raise ScriptExit()


class _Func:
    """What the compiler knows of one callable name: per-arity entries."""

    def __init__(self):
        self.by_arity = {}     # arity -> Func


class Compiler(InlineCode):
    def __init__(self, config: A.Config, filename: str, mpath_extra=()):
        self.cfg = config
        self.filename = filename
        self.errors = []
        self.ns = {
            "_Exit": ScriptExit, "_exit": _exit, "_fail": _fail, "_ops": ops,
            "_truth": ops.truth, "_eq": ops.eq, "_ne": ops.ne, "_to_int": to_int,
            "_to_str": to_str, "_fv": ops.fmt_value, "_MISS": _MISS,
        }
        self.counter = 0
        self.lines = []
        self.linepos = {}
        self.registry = Registry()
        self.funcs = {}
        self.script = Script()
        self.mpath_extra = list(mpath_extra)
        self.route_calls = {}     # route name -> set of route names it calls
        self.func_uses = {}       # route key -> list of (Func, pos)
        self.cur_key = None
        self.last_func = None
        self.in_route = False     # route bodies may read $var straight from _v
        self.helpers = []
        self.unsupported = {}     # function name -> module that names it
        self.ntmp = 0             # temporaries (_t1, _t2...) of the inline code
        self.msg_sure = False     # the route being compiled always has a message (ctx.msg)

    # --- helpers -------------------------------------------------------------------
    def err(self, pos, msg):
        self.errors.append(A.ConfigError(pos, msg))

    def bind(self, obj, prefix="_k") -> str:
        self.counter += 1
        name = "%s%d" % (prefix, self.counter)
        self.ns[name] = obj
        return name

    def tmp(self) -> str:
        """A fresh local name for a value used twice in one expression."""
        self.ntmp += 1
        return "_t%d" % self.ntmp

    def emit(self, indent, text, pos=None):
        if pos is not None:
            self.lines.append("    " * indent + "# %s:%d" % (pos.file, pos.line))
            self.linepos[len(self.lines) + 1] = pos
        self.lines.append("    " * indent + text)

    # --- top level -------------------------------------------------------------------
    def run(self) -> Script:
        from . import coreparams
        from .pv_core import register_core_pvs
        from .transforms import register_core_transforms
        from . import core_funcs
        cfg = self.cfg
        s = self.script
        s.defines = dict(cfg.defines)
        s.filename = self.filename
        s.core_params, s.sockets, s.aliases = coreparams.resolve(cfg.params, self.errors)
        register_core_pvs(self.registry)
        register_core_transforms(self.registry)
        for f in core_funcs.FUNCTIONS:
            self.funcs.setdefault(f.name, _Func()).by_arity[f.arity] = f
        self.load_modules()
        self.registry.add_pv("def", self._def_pv_factory(s.defines))
        self.compile_routes()
        s.registry = self.registry
        if self.errors:
            self.errors.sort(key=lambda e: (e.pos.file, e.pos.line, e.pos.col) if e.pos else ("", 0, 0))
            raise A.ConfigErrors(self.errors)
        return s

    def _def_pv_factory(self, defines):
        from .pv import ConstPV

        def factory(spec, resolve):
            if not spec.inner:
                raise A.ConfigError(spec.pos, "$def needs a name")
            v = defines.get(spec.inner)
            if isinstance(v, str):
                t = v.strip()
                if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
                    v = t[1:-1]
                elif re.fullmatch(r"-?\d+", t):
                    v = int(t)
                else:
                    v = t
            return ConstPV(spec, v)
        return factory

    def load_modules(self):
        s = self.script
        mpath = [p for p in str(s.core_params.get("mpath") or "").split(":") if p]
        mpath += [p for p in str(s.core_params.get("loadpath") or "").split(":") if p]
        mpath += self.mpath_extra
        base_dir = os.path.dirname(os.path.abspath(self.filename))
        mpath = [p if os.path.isabs(p) else os.path.join(base_dir, p) for p in mpath]
        loaded_at = {}
        loaded_order = {}
        failed = set()
        for lm in self.cfg.loadmodules:
            try:
                mod = loader.find_and_load(lm.name, mpath)
            except loader.ModuleNotFound as e:
                self.err(lm.pos, str(e))
                failed.add(loader.module_base(lm.name))
                continue
            except Exception as e:
                self.err(lm.pos, "module '%s' failed to load: %r" % (lm.name, e))
                failed.add(loader.module_base(lm.name))
                continue
            if mod.name in s.modules:
                continue   # Kamailio refuses a second load; loading twice is harmless here
            s.modules[mod.name] = mod
            loaded_at[mod.name] = lm.pos
            loaded_order[mod.name] = lm.order
            if mod.params is not None:
                mod.params.reset()
            for f in mod.functions:
                entry = self.funcs.setdefault(f.name, _Func())
                entry.by_arity[f.arity] = f
            for fname in mod.unsupported:
                self.unsupported.setdefault(fname, mod.name)
            for p in mod.pvs:
                self.registry.add_pv(p.name, p.factory)
            for t in mod.transforms:
                self.registry.add_transform(t.name, t.factory)
        for name, mod in s.modules.items():
            for dep in mod.depends:
                if dep not in s.modules:
                    self.err(loaded_at[name], "module '%s' needs module '%s': load it first" % (name, dep))
        for mp in self.cfg.modparams:
            targets = self.modparam_targets(mp.module)
            if not targets:
                if not (set(re.split(r"[|]", mp.module)) & failed):
                    self.err(mp.pos, "modparam for module '%s', which is not loaded" % mp.module)
                continue
            # Kamailio applies a modparam where it stands: its module must be loaded above it
            late = [m for m in targets if mp.order and loaded_order.get(m.name, 0) > mp.order]
            if late:
                lm = loaded_at[late[0].name]
                self.err(mp.pos, "modparam for module '%s' before its loadmodule (%s:%d): "
                         "Kamailio cannot set a parameter of a module not loaded yet"
                         % (late[0].name, lm.file, lm.line))
                continue
            for mod in targets:
                self.apply_modparam(mod, mp)

    def modparam_targets(self, name):
        """Modules a modparam names: one name, or Kamailio's regular expression
        over module names (`"auth_db|usrloc"`)."""
        mods = self.script.modules
        base = loader.module_base(name)
        if base in mods:
            return [mods[base]]
        if re.fullmatch(r"[\w.]+", name):
            return []
        try:
            rx = re.compile(name)
        except re.error:
            return []
        return [m for n, m in mods.items() if rx.fullmatch(n)]

    def apply_modparam(self, mod, mp):
        if mod.params is None:
            self.err(mp.pos, "module '%s' has no parameter '%s'" % (mod.name, mp.param))
            return
        value = mp.value
        if mp.text and isinstance(value, int):
            # a number for a string parameter is the digits as written (ctl's
            # mode 0660 is octal text); an integer parameter takes the value
            d = getattr(mod.params, "_defs", {}).get(mp.param)
            if d is not None and d.type is str:
                value = mp.text
        try:
            mod.params.set(mp.param, value)
        except KeyError:
            self.err(mp.pos, "module '%s' has no parameter '%s'" % (mod.name, mp.param))
        except ValueError as e:
            self.err(mp.pos, "modparam %s.%s: %s" % (mod.name, mp.param, e))

    # --- routes --------------------------------------------------------------------------
    def compile_routes(self):
        s = self.script
        tables = {
            "route": s.routes, "failure": s.failure_routes, "branch": s.branch_routes,
            "onreply": s.onreply_routes, "event": s.event_routes,
        }
        self.route_names = {k: {r.name for r in self.cfg.routes if r.kind == k} for k in tables}
        fnames = {}
        for r in self.cfg.routes:
            key = (r.kind, r.name)
            fname = "_route_%s_%s" % (r.kind, re.sub(r"\W", "_", r.name or "main"))
            while fname in self.ns or fname in fnames.values():
                fname += "_"
            fnames[key] = fname
        self.route_fnames = fnames
        for r in self.cfg.routes:
            self.cur_key = (r.kind, r.name)
            self.func_uses[self.cur_key] = []
            self.route_calls[self.cur_key] = set()
            self.emit(0, "def %s(ctx):" % fnames[self.cur_key], r.pos)
            self.emit(1, "_v = ctx.rt.vars")
            self.in_route = True
            # these run for a message; route[] and event_route may run without one
            self.msg_sure = r.kind in ("request", "reply", "onreply", "failure", "branch", "onsend")
            self.block(r.body, 1, loop=False)
            self.in_route = False
            self.msg_sure = False
            self.emit(1, "return 1")
            self.lines.append("")
        self.check_route_types()
        src = "\n".join(self.lines + self.helpers) + "\n"
        s.source = src
        s.lines = self.linepos
        gen_name = "<kampy-compiled %s>" % self.filename
        if self.errors:
            return
        try:
            code = compile(src, gen_name, "exec")
        except SyntaxError as e:  # a compiler bug; say where
            self.err(None, "internal compiler error: %s (generated line %s)" % (e.msg, e.lineno))
            return
        linecache.cache[gen_name] = (len(src), None, src.splitlines(True), gen_name)
        exec(code, self.ns)
        for r in self.cfg.routes:
            fn = self.ns[fnames[(r.kind, r.name)]]
            if r.kind == "request":
                s.request_route = fn
            elif r.kind == "reply":
                s.reply_route = fn
            elif r.kind == "onsend":
                s.onsend_route = fn
            else:
                tables[r.kind][r.name] = fn
        if s.request_route is None:
            s.request_route = _empty_route

    def check_route_types(self):
        """A function is allowed where every route that can reach it may run it."""
        reach = {}
        for key in self.route_calls:
            kind = key[0]
            if kind != "route":
                t = ROUTE_KIND_TYPE.get(kind, 0)
                if kind == "event" and (key[1] or "").startswith("tm:branch-failure:"):
                    t = BRANCH_FAILURE_ROUTE   # Kamailio's branch failure route is an event route
                reach[key] = t
        changed = True
        types = dict(reach)
        while changed:
            changed = False
            for key, callees in self.route_calls.items():
                t = types.get(key, 0)
                if not t:
                    continue
                for callee in callees:
                    ck = ("route", callee)
                    old = types.get(ck, 0)
                    if old | t != old:
                        types[ck] = old | t
                        changed = True
        for key, uses in self.func_uses.items():
            t = types.get(key, 0)
            for f, pos in uses:
                bad = t & ~f.routes
                if bad:
                    names = [ROUTE_NAMES[b] for b in sorted(ROUTE_NAMES) if b & bad]
                    where = ""
                    if key[0] == "route":
                        callers = sorted(self._callers(key[1], bad, types))
                        where = " (route[%s] is called from %s)" % (key[1], ", ".join(callers))
                    self.err(pos, "function '%s' cannot be used in %s%s" % (f.name, ", ".join(names), where))

    def _callers(self, name, bad, types):
        """Route blocks that call route[name] and run in one of the `bad` types."""
        label = {"request": "request_route", "failure": "failure_route[%s]",
                 "branch": "branch_route[%s]", "onreply": "onreply_route[%s]",
                 "reply": "reply_route", "onsend": "onsend_route", "event": "event_route[%s]",
                 "route": "route[%s]"}
        out = set()
        for key, callees in self.route_calls.items():
            if name in callees and types.get(key, 0) & bad:
                fmt = label.get(key[0], key[0])
                out.add(fmt % key[1] if "%s" in fmt else fmt)
        return out

    # --- statements ----------------------------------------------------------------------
    def block(self, stmts, ind, loop):
        if not stmts:
            self.emit(ind, "pass")
            return
        for st in stmts:
            self.stmt(st, ind, loop)

    def stmt(self, st, ind, loop):
        pos = st.pos
        if isinstance(st, A.ExprStmt):
            e = st.expr
            if isinstance(e, A.Call):
                self.call_stmt(e, ind)
            else:
                src, _k = self.expr(e)
                self.emit(ind, src, pos)
        elif isinstance(st, A.Assign):
            self.assign(st, ind)
        elif isinstance(st, A.If):
            test = self.call_cond(st.cond, ind, pos)
            self.emit(ind, "if %s:" % (test or self.cond(st.cond)), None if test else pos)
            self.block(st.then, ind + 1, loop)
            if st.orelse:
                if len(st.orelse) == 1 and isinstance(st.orelse[0], A.If):
                    self.emit(ind, "else:")
                    self.stmt(st.orelse[0], ind + 1, loop)
                else:
                    self.emit(ind, "else:")
                    self.block(st.orelse, ind + 1, loop)
        elif isinstance(st, A.While):
            limit = int(self.script.core_params.get("max_while_loops", 100) or 100)
            n = self.bind(None, "_w")
            self.emit(ind, "%s = 0" % n, pos)
            self.emit(ind, "while %s:" % self.cond(st.cond))
            self.emit(ind + 1, "%s += 1" % n)
            self.emit(ind + 1, "if %s > %d:" % (n, limit))
            self.emit(ind + 2, "ctx.rt.log(-1, %r)" % ("%s: while loop stopped after max_while_loops=%d" % (pos, limit)))
            self.emit(ind + 2, "break")
            self.block(st.body, ind + 1, True)
        elif isinstance(st, A.Switch):
            self.switch(st, ind)
        elif isinstance(st, A.Return):
            if st.value is None:
                self.emit(ind, "return 1", pos)
            else:
                src, k = self.expr(st.value)
                self.emit(ind, "return %s" % (src if k in ("int", "rc") else "_to_int(%s)" % src), pos)
        elif isinstance(st, A.Exit):
            self.emit(ind, "raise _Exit()", pos)
        elif isinstance(st, A.Drop):
            self.emit(ind, "ctx.dropped = True", pos)
            self.emit(ind, "raise _Exit()")
        elif isinstance(st, A.Break):
            self.emit(ind, "break" if loop else "return 1", pos)
        else:
            self.err(pos, "unsupported statement")

    def switch(self, st, ind):
        v = self.bind(None, "_sw")
        m = self.bind(None, "_sm")
        c = self.bind(None, "_sc")
        src, _k = self.expr(st.expr)
        self.emit(ind, "%s = %s" % (v, src), st.pos)
        default = None
        conds = []
        for i, case in enumerate(st.cases):
            if case.value is None:
                default = i
            else:
                conds.append((i, case.value))
        self.emit(ind, "%s = %d" % (c, -1 if default is None else default))
        for i, lit in conds:
            self.emit(ind, "%sif _eq(%s, %r):" % ("el" if i != conds[0][0] else "", v, lit.value))
            self.emit(ind + 1, "%s = %d" % (c, i))
        self.emit(ind, "%s = False" % m)
        self.emit(ind, "while True:")
        for i, case in enumerate(st.cases):
            self.emit(ind + 1, "if %s or %s == %d:" % (m, c, i), case.pos)
            self.emit(ind + 2, "%s = True" % m)
            self.block(case.body, ind + 2, True)
        self.emit(ind + 1, "break")

    def assign(self, st, ind):
        pv = self.resolve_pv(st.target)
        if pv is None:
            return
        if not pv.writable:
            self.err(st.target.pos, "cannot assign to read-only pseudo-variable %s" % (st.target.text or "$" + st.target.name))
            return
        name = self.bind(pv.set, "_set")
        v = st.value
        if isinstance(v, A.PVRef) and v.spec.name == "null" and not v.spec.transforms:
            self.emit(ind, "%s(ctx, None)" % name, st.pos)
            return
        if getattr(pv, "null_only", False):
            self.err(st.value.pos, "only $null can be assigned to %s" % (st.target.text or st.target.name))
            return
        src, k = self.expr(v)
        never_none = k in ("int", "str", "bool", "rc", "val")
        if type(pv) is VarPV:
            if not never_none:     # $var holds 0 for $null
                t = self.tmp()
                src = "(0 if (%s := %s) is None else %s)" % (t, src, t)
            self.emit(ind, "_v[%r] = %s" % (pv.name, src), st.pos)
            return
        if type(pv) is AvpPV and pv.name_pv is None and pv.idx is None and pv.idx_pv is None:
            # ctx.avps.add(key, value) written out; $null deletes the newest value
            key = pv.key
            self.emit(ind, "_t = %s" % src, st.pos)
            add = ind
            if not never_none:
                self.emit(ind, "if _t is None:")
                self.emit(ind + 1, "ctx.avps.delete(%r, 0)" % key)
                self.emit(ind, "else:")
                add = ind + 1
            self.emit(add, "_l = ctx.avps.d.get(%r)" % key)
            self.emit(add, "if _l is None:")
            self.emit(add + 1, "ctx.avps.d[%r] = [_t]" % key)
            self.emit(add, "else:")
            self.emit(add + 1, "_l.insert(0, _t)")
            return
        self.emit(ind, "%s(ctx, %s)" % (name, src), st.pos)

    # --- calls -----------------------------------------------------------------------------
    def call_stmt(self, e, ind):
        if e.name not in ("route", "strlen", "strempty"):
            inline = self.module_call_parts(e)
            if inline is None:
                return
            fn, args, pos_s = inline
            level = self.log_level(e)
            if level is not None:
                # a log line above `debug` is not even formatted (rc stays 1)
                self.emit(ind, "if ctx.rt.debug < %d:" % level, e.pos)
                self.emit(ind + 1, "ctx.rc = 1")
                self.emit(ind, "else:")
                ind += 1
            self.emit_checked_call(ind, fn, args, pos_s, e.pos)
            return
        src, kind = self.call(e)
        self.emit(ind, src, e.pos)

    def call_cond(self, cond, ind, pos):
        """`if (f(...))` and `if (!f(...))` with a module or core function:
        the call is written before the `if` (no wrapper function per run).
        Returns the test, or None for any other condition."""
        neg = isinstance(cond, A.UnOp) and cond.op == "!"
        e = cond.operand if neg else cond
        if not isinstance(e, A.Call) or e.name in ("route", "strlen", "strempty"):
            return None
        parts = self.module_call_parts(e)
        if parts is None:
            return "False"
        fn, args, pos_s = parts
        self.emit_checked_call(ind, fn, args, pos_s, pos)
        return "_rc < 0" if neg else "_rc > 0"

    def emit_checked_call(self, ind, fn, args, pos_s, pos):
        """`_rc = fn(ctx, args)` with the failure wrapper, `$rc` set, and 0
        ending the route (Kamailio's return-code rule)."""
        self.emit(ind, "try:", pos)
        self.emit(ind + 1, "_rc = %s(ctx%s)" % (fn, "".join(", " + a for a in args)))
        self.emit(ind, "except Exception as e:")
        self.emit(ind + 1, "_rc = _fail(ctx, e, %r)" % pos_s)
        self.emit(ind, "ctx.rc = _rc")
        self.emit(ind, "if _rc == 0:")
        self.emit(ind + 1, "raise _Exit()")

    def call(self, e):
        """Code for a call used as a value; kind "rc" (a return code) or other."""
        name = e.name
        if name == "route":
            return self.route_call(e)
        if name in ("strlen", "strempty"):
            if len(e.args) != 1:
                self.err(e.pos, "%s takes one argument" % name)
                return "0", "int"
            a, _k = self.expr(e.args[0])
            return ("_ops.strlen(%s)" % a, "int") if name == "strlen" else ("_ops.strempty(%s)" % a, "bool")
        parts = self.module_call_parts(e)
        if parts is None:
            return "1", "rc"
        fn, args, pos_s = parts
        wrapper = self.bind(None, "_c")
        body = [
            "def %s(ctx):" % wrapper,
            "    try:",
            "        rc = %s(ctx%s)" % (fn, "".join(", " + a for a in args)),
            "    except Exception as e:",
            "        rc = _fail(ctx, e, %r)" % pos_s,
            "    ctx.rc = rc",
            "    if rc == 0:",
            "        raise _Exit()",
            "    return rc",
        ]
        self.prelude(body)
        return "%s(ctx)" % wrapper, "rc"

    def log_level(self, e):
        """The level of a log function call known at startup, or None."""
        f = self.last_func
        if f is None:
            return None
        if f.level is not None:
            return f.level
        if f.level_arg is not None and f.level_arg < len(e.args):
            a = e.args[f.level_arg]
            if isinstance(a, A.StrLit):
                from ..runtime import LEVEL_NAMES
                if a.value.strip() in LEVEL_NAMES:
                    return LEVEL_NAMES[a.value.strip()]
        return None

    def module_call_parts(self, e):
        """(bound function name, argument codes, position) of a module or core
        function call, or None (not one, or an error was recorded)."""
        name = e.name
        if name in ("route", "strlen", "strempty"):
            return None
        entry = self.funcs.get(name)
        if entry is None:
            from .core_funcs import UNSUPPORTED
            if name in self.unsupported:
                self.err(e.pos, "function '%s' of module %s is not supported by kampy"
                         % (name, self.unsupported[name]))
                return None
            if name in UNSUPPORTED:
                self.err(e.pos, "function '%s' is not supported by kampy: %s" % (name, UNSUPPORTED[name]))
                return None
            self.err(e.pos, "unknown function '%s' (is its module loaded?)" % name)
            return None
        f = entry.by_arity.get(len(e.args))
        if f is None:
            arities = sorted(entry.by_arity)
            self.err(e.pos, "function '%s' takes %s parameter%s, not %d" % (
                name, " or ".join(map(str, arities)), "" if arities == [1] else "s", len(e.args)))
            return None
        self.func_uses[self.cur_key].append((f, e.pos))
        self.last_func = f
        args = []
        for kind, a in zip(f.kinds, e.args):
            code = self.fix_arg(f, kind, a)
            if code is None:
                return None
            args.append(code)
        if f.fixup is not None:
            try:
                f.fixup(e.args, e.pos)
            except A.ConfigError as ce:
                self.errors.append(ce)
                return None
        fn = self.bind(f.fn, "_f")
        return fn, args, "%s:%d:%d" % (e.pos.file, e.pos.line, e.pos.col)

    def prelude(self, body):
        """Helper functions (call wrappers) go after the routes."""
        self.helpers.extend(body)
        self.helpers.append("")

    def route_call(self, e):
        if len(e.args) != 1:
            self.err(e.pos, "route() takes one route name")
            return "1", "rc"
        a = e.args[0]
        if isinstance(a, (A.StrLit, A.IntLit)):
            rname = str(a.value)
        else:
            self.err(e.pos, "route() takes a route name, not an expression")
            return "1", "rc"
        if rname not in self.route_names["route"]:
            self.err(a.pos, "route '%s' is not defined" % rname)
            return "1", "rc"
        self.route_calls[self.cur_key].add(rname)
        wrapper = self.bind(None, "_rt")
        fname = self.route_fnames[("route", rname)]
        self.prelude([
            "def %s(ctx):" % wrapper,
            "    rc = %s(ctx)" % fname,
            "    ctx.rc = rc",
            "    if rc == 0:",
            "        raise _Exit()",
            "    return rc",
        ])
        return "%s(ctx)" % wrapper, "rc"

    def fix_arg(self, f, kind, a):
        """Fix up one script argument per its declared kind; returns code."""
        pos = a.pos
        if isinstance(a, A.UnOp) and a.op == "-" and isinstance(a.operand, A.IntLit):
            a = A.IntLit(-a.operand.value, pos)
        if kind in (Int, Flag):
            if isinstance(a, A.IntLit):
                v = a.value
            elif isinstance(a, A.StrLit) and re.fullmatch(r"\s*-?\d+\s*", a.value):
                v = int(a.value)
            elif isinstance(a, A.StrLit) and kind is Flag and a.value in self.script.defines:
                v = to_int(self.script.defines[a.value])
            else:
                self.err(pos, "%s: parameter must be an integer" % f.name)
                return None
            if kind is Flag and not 0 <= v <= 31:
                self.err(pos, "%s: flag %d out of range 0..31" % (f.name, v))
                return None
            return repr(v)
        if kind is IntV:
            if isinstance(a, A.IntLit):
                return repr(a.value)
            if isinstance(a, A.StrLit):
                fmt = self.format(a)
                if fmt is None:
                    return None
                if isinstance(fmt, str):
                    if not re.fullmatch(r"\s*-?\d+\s*", fmt):
                        self.err(pos, "%s: parameter must be an integer" % f.name)
                        return None
                    return repr(int(fmt))
                return "_to_int(%s(ctx))" % self.bind(fmt, "_fmt")
            if isinstance(a, A.PVRef):
                pv = self.resolve_pv(a.spec)
                return None if pv is None else "_to_int(%s(ctx))" % self.bind(pv.get, "_get")
            self.err(pos, "%s: bad parameter" % f.name)
            return None
        if kind is Str:
            if isinstance(a, (A.StrLit, A.IntLit)):
                return repr(str(a.value))
            self.err(pos, "%s: parameter must be a string" % f.name)
            return None
        if kind in (RouteName, FailureRouteName, BranchRouteName, ReplyRouteName):
            if not isinstance(a, (A.StrLit, A.IntLit)):
                self.err(pos, "%s: parameter must be a route name" % f.name)
                return None
            rname = str(a.value)
            table = {RouteName: "route", FailureRouteName: "failure",
                     BranchRouteName: "branch", ReplyRouteName: "onreply"}[kind]
            if rname not in self.route_names[table]:
                label = {"route": "route", "failure": "failure_route", "branch": "branch_route",
                         "onreply": "onreply_route"}[table]
                self.err(pos, "%s[%s] is not defined" % (label, rname))
                return None
            if table == "route":
                self.route_calls[self.cur_key].add(rname)
            return repr(rname)
        if kind in (PVW, PVR):
            spec = None
            if isinstance(a, A.PVRef):
                spec = a.spec
            elif isinstance(a, A.StrLit):
                from .pvparse import parse_format
                try:
                    parts = parse_format(a.value, pos)
                except A.ConfigError as ce:
                    self.errors.append(ce)
                    return None
                if len(parts) == 1 and not isinstance(parts[0], str):
                    spec = parts[0]
            if spec is None:
                self.err(pos, "%s: parameter must be a pseudo-variable" % f.name)
                return None
            pv = self.resolve_pv(spec)
            if pv is None:
                return None
            if kind is PVW and not pv.writable:
                self.err(pos, "%s: pseudo-variable %s is read-only" % (f.name, spec.text or spec.name))
                return None
            return self.bind(pv, "_pv")
        if kind is Regex:
            if not isinstance(a, A.StrLit):
                self.err(pos, "%s: parameter must be a regular expression" % f.name)
                return None
            try:
                return self.bind(compile_posix(a.value), "_rx")
            except Exception as ex:
                self.err(pos, "%s: bad regular expression %r: %s" % (f.name, a.value, ex))
                return None
        if kind is RegexV:
            if not isinstance(a, A.StrLit):
                self.err(pos, "%s: parameter must be a regular expression" % f.name)
                return None
            fmt = self.format(a)
            if fmt is None:
                return None
            if isinstance(fmt, str):
                try:
                    return self.bind(compile_posix(fmt), "_rx")
                except Exception as ex:
                    self.err(pos, "%s: bad regular expression %r: %s" % (f.name, fmt, ex))
                    return None
            return "_ops.compile_posix(%s(ctx))" % self.bind(fmt, "_fmt")
        # Fmt (the default)
        if isinstance(a, A.IntLit):
            return repr(str(a.value))
        if isinstance(a, A.StrLit):
            fmt = self.format(a)
            if fmt is None:
                return None
            return repr(fmt) if isinstance(fmt, str) else "%s(ctx)" % self.bind(fmt, "_fmt")
        if isinstance(a, A.PVRef):
            pv = self.resolve_pv(a.spec)
            return None if pv is None else "_to_str(%s(ctx))" % self.bind(pv.get, "_get")
        self.err(pos, "%s: bad parameter (a string, a number or a pseudo-variable)" % f.name)
        return None

    def format(self, lit):
        """A string literal holding PVs → a function ctx -> str (or the str)."""
        from .pvparse import parse_format
        pos = lit.pos if lit.quote not in ('"', "'") else A.Pos(lit.pos.file, lit.pos.line, lit.pos.col + 1)
        try:
            parts = parse_format(lit.value, pos)
        except A.ConfigError as ce:
            self.errors.append(ce)
            return None
        if not parts:
            return ""
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)
        pieces = []
        for p in parts:
            if isinstance(p, str):
                pieces.append(repr(p))
            else:
                pv = self.resolve_pv(p)
                if pv is None:
                    return None
                saved, self.in_route = self.in_route, False
                src, kind = self.pv_read(pv)
                self.in_route = saved
                if kind in ("str", "strn"):
                    t = self.tmp()     # Kamailio prints $null as "<null>"
                    pieces.append("(%s if (%s := %s) is not None else '<null>')" % (t, t, src))
                elif kind == "val":
                    t = self.tmp()
                    pieces.append("(%s if (%s := %s).__class__ is str else _fv(%s))" % (t, t, src, t))
                else:
                    pieces.append("_fv(%s)" % src)
        name = self.bind(None, "_fmtfn")
        src = "def %s(ctx):\n    return %s\n" % (name, " + ".join(pieces) if len(pieces) > 1 else pieces[0])
        exec(compile(src, "<kampy-format %s>" % lit.pos, "exec"), self.ns)
        return self.ns[name]

    def resolve_pv(self, spec):
        try:
            return self.registry.resolve(spec)
        except A.ConfigError as ce:
            self.errors.append(ce)
            return None

    # --- expressions -------------------------------------------------------------------------
    def cond(self, e) -> str:
        src, k = self.expr(e)
        if k == "bool":
            return src
        if k == "rc":
            return "%s > 0" % src
        if k == "int":
            return "%s != 0" % src
        return "_truth(%s)" % src

    def expr(self, e):
        """(python source, kind) with kind in int, str, bool, rc, any."""
        if isinstance(e, A.IntLit):
            return repr(e.value), "int"
        if isinstance(e, A.StrLit):
            return repr(e.value), "str"
        if isinstance(e, A.PVRef):
            if e.spec.name == "null" and not e.spec.transforms:
                return "None", "any"
            pv = self.resolve_pv(e.spec)
            if pv is None:
                return "None", "any"
            return self.pv_read(pv)
        if isinstance(e, A.Keyword):
            from .keywords import keyword_value
            try:
                fn = keyword_value(e.name)
            except KeyError:
                self.err(e.pos, "'%s' cannot be used as a value here" % e.name)
                return "None", "any"
            return "%s(ctx)" % self.bind(fn, "_kw"), "any"
        if isinstance(e, A.Call):
            return self.call(e)
        if isinstance(e, A.UnOp):
            return self.unop(e)
        if isinstance(e, A.BinOp):
            return self.binop(e)
        self.err(getattr(e, "pos", None), "unsupported expression")
        return "None", "any"

    def unop(self, e):
        op = e.op
        if op == "!":
            return "(not %s)" % self.cond(e.operand), "bool"
        if op == "defined":
            if not isinstance(e.operand, A.PVRef):
                self.err(e.pos, "defined needs a pseudo-variable")
                return "False", "bool"
            src, _k = self.expr(e.operand)
            return "(%s is not None)" % src, "bool"
        src, k = self.expr(e.operand)
        iv = src if k in ("int", "rc") else "_to_int(%s)" % src
        if op == "-":
            return "(-%s)" % iv, "int"
        if op == "~":
            return "(~%s)" % iv, "int"
        if op == "(int)":
            return iv, "int"
        if op == "(str)":
            return "_to_str(%s)" % src, "str"
        self.err(e.pos, "unknown operator %s" % op)
        return "None", "any"

    def binop(self, e):
        op = e.op
        if op in ("&&", "||"):
            return "(%s %s %s)" % (self.cond(e.left), "and" if op == "&&" else "or", self.cond(e.right)), "bool"
        if isinstance(e.left, A.Keyword) or (isinstance(e.right, A.Keyword) and e.right.name == "myself"):
            from .keywords import compile_keyword_cmp
            try:
                return compile_keyword_cmp(self, e)
            except A.ConfigError as ce:
                self.errors.append(ce)
                return "False", "bool"
        if op in ("=~", "!~"):
            ls, _lk = self.expr(e.left)
            if isinstance(e.right, A.StrLit):
                try:
                    rx = compile_posix(e.right.value)
                except Exception as ex:
                    self.err(e.right.pos, "bad regular expression %r: %s" % (e.right.value, ex))
                    return "False", "bool"
                code = "(%s.search(%s) is not None)" % (self.bind(rx, "_rx"), self.as_str(ls, _lk))
            else:
                rs, _rk = self.expr(e.right)
                code = "_ops.match(%s, %s)" % (ls, rs)
            return (code if op == "=~" else "(not %s)" % code), "bool"
        ls, lk = self.expr(e.left)
        rs, rk = self.expr(e.right)
        ints = lk in ("int", "rc") and rk in ("int", "rc")
        if op in ("==", "!=", "<", ">", "<=", ">="):
            if ints or (lk in ("int", "rc") and rk == "int"):
                return "(%s %s %s)" % (ls, op, rs), "bool"
            if lk == "str" and rk == "str":
                return "(%s %s %s)" % (ls, op, rs), "bool"
            code = self.fast_cmp(op, ls, lk, e.right)
            if code is not None:
                return code, "bool"
            return "%s(%s, %s)" % (self._CMP_FN[op], ls, rs), "bool"
        if op in ("eq", "ne"):
            return "(%s_ops.streq(%s, %s))" % ("" if op == "eq" else "not ", ls, rs), "bool"
        if op in ("ieq", "ine"):
            return "(%s_ops.inteq(%s, %s))" % ("" if op == "ieq" else "not ", ls, rs), "bool"
        if op == "+":
            if ints:
                return "(%s + %s)" % (ls, rs), "int"
            if lk == "str":
                return "(%s + %s)" % (ls, self.as_str(rs, rk)), "str"
            if lk == "strn" and rk in ("str", "strn"):
                return "(%s + %s)" % (self.as_str(ls, lk), self.as_str(rs, rk)), "str"
            code = self.fast_arith(op, ls, lk, e.right)
            if code is not None:
                return code, "val"
            return "_ops.add(%s, %s)" % (ls, rs), "val"
        if op in ("-", "*", "/", "%"):
            fn = {"-": "sub", "*": "mul", "/": "div", "%": "mod"}[op]
            if ints and op in ("-", "*"):
                return "(%s %s %s)" % (ls, op, rs), "int"
            code = self.fast_arith(op, ls, lk, e.right) if op in ("-", "*") else None
            if code is not None:
                return code, "int"
            return "_ops.%s(%s, %s)" % (fn, ls, rs), "int"
        if op in ("|", "&", "^", "<<", ">>"):
            li = ls if lk in ("int", "rc") else "_to_int(%s)" % ls
            ri = rs if rk in ("int", "rc") else "_to_int(%s)" % rs
            return "(%s %s %s)" % (li, op, ri), "int"
        self.err(e.pos, "unknown operator %s" % op)
        return "None", "any"


def _empty_route(ctx):
    return 1


def _compile(cfg, syntax_errors, filename, mpath):
    if cfg is None:
        raise A.ConfigErrors(syntax_errors)
    comp = Compiler(cfg, filename, mpath)
    comp.errors.extend(syntax_errors)
    return comp.run()


def compile_config(path: str, defines=None, mpath=()) -> Script:
    """Parse and compile a config file; raises ConfigErrors with every error
    (syntax errors and the errors of what could be parsed around them)."""
    from .parser import parse_config_file_partial
    try:
        cfg, errors = parse_config_file_partial(path, defines)
    except A.ConfigErrors:
        raise
    return _compile(cfg, errors, path, mpath)


def compile_text(text: str, filename: str = "<config>", defines=None, mpath=()) -> Script:
    from .parser import parse_partial
    cfg, errors = parse_partial(text, filename, defines)
    return _compile(cfg, errors, filename, mpath)
