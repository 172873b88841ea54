# SPDX-License-Identifier: GPL-2.0-or-later
"""The config corpus: real-world kamailio.cfg files that kampy must accept,
broken ones whose errors kampy must report exactly, and ones that wait for
modules kampy does not have yet.

- `cfg/*.cfg` are complete configs that `kampy -c` accepts (shared snippets
  live in `cfg/inc/*.inc` and are only checked through the configs that
  include them).
- `cfg_broken/NAME.cfg` fails `kampy -c` with exactly the error lines of
  `cfg_broken/NAME.expect` (paths as printed when run beside the file).
- `cfg_pending/*.cfg` need modules kampy does not have yet; the first line
  names them (`# pending: uac tm rr`).  A pending config is otherwise valid:
  it fails only with "module 'X' not found" for exactly those modules and
  with the errors that follow from them (their functions, parameters and
  pseudo-variables unknown), and with stand-in modules for the pending
  ones it compiles clean.  When the modules of a pending config land in
  kampy, move the config to `cfg/` (dropping its `# pending:` line); when
  some of them land, remove them from its `# pending:` line.
"""

import glob
import os
import re
import subprocess
import sys

import pytest

from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_config, compile_text

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CFG_DIR = os.path.join(HERE, "cfg")
BROKEN_DIR = os.path.join(HERE, "cfg_broken")
PENDING_DIR = os.path.join(HERE, "cfg_pending")
CLI_TIMEOUT = 120


def _names(folder):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.cfg")))


VALID = _names(CFG_DIR)
BROKEN = _names(BROKEN_DIR)
PENDING = _names(PENDING_DIR)


def run_cli(args, cwd=REPO):
    """`python -m kampy.cli ARGS` run from cwd with the checkout importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "kampy.cli"] + list(args), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT)


def error_lines(stderr):
    """The error lines of a failed check, without the final summary line."""
    lines = stderr.splitlines()
    assert lines and re.match(r"kampy: \d+ errors? in ", lines[-1]), stderr
    return lines[:-1]


def test_corpus_sizes():
    assert len(VALID) >= 36
    assert len(BROKEN) >= 15
    assert len(VALID) + len(PENDING) >= 44   # a pending config moves to cfg/ when its modules land


# --- cfg/: valid configs -------------------------------------------------------------------

@pytest.mark.parametrize("name", VALID)
def test_valid_config_compiles(name):
    compile_config(os.path.join(CFG_DIR, name))


@pytest.mark.parametrize("name", VALID)
def test_valid_config_checks_with_cli(name):
    path = os.path.join("tests", "script", "cfg", name)
    r = run_cli(["-c", "-f", path])
    assert r.returncode == 0, r.stderr
    assert "config file %s is valid" % path in r.stderr


# Configs whose #!ifdef branches must all be valid: each define set must compile.
DEFINE_VARIANTS = {
    "stateless_proxy.cfg": [
        {"WITH_DEBUG": None}, {"WITH_ANTIFLOOD": None}, {"WITH_IPV6": None},
        {"WITH_DEBUG": None, "WITH_ANTIFLOOD": None, "WITH_IPV6": None,
         "CORE_PROXY": '"sip:10.9.9.9:5060"'},
    ],
    "debug_defines.cfg": [
        {"WITH_DEBUG": None}, {"WITH_OPTIONS_PING": None},
        {"WITH_PUBLIC_IP": None, "LISTEN_PORT": "5080"},
        {"WITH_NO_FORWARD": None, "WITH_DEBUG": None, "SERVER_NAME": '"lab-2"'},
    ],
    "preprocessor.cfg": [{"WITH_INNER": None}],
}


@pytest.mark.parametrize("name,defines", [(n, d) for n, ds in sorted(DEFINE_VARIANTS.items())
                                          for d in ds])
def test_valid_config_define_variants(name, defines):
    compile_config(os.path.join(CFG_DIR, name), dict(defines))


def test_dump_compiled_has_routes_and_config_lines():
    path = os.path.join("tests", "script", "cfg", "stateless_proxy.cfg")
    r = run_cli(["-c", "--dump-compiled", "-f", path])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "def _route_request_main(ctx):" in out
    assert "def _route_route_RELAY(ctx):" in out
    assert re.search(r"^\s*# %s:\d+$" % re.escape(path), out, re.M)
    # the request_route line itself is named before its function
    with open(os.path.join(REPO, path)) as f:
        line = next(i for i, t in enumerate(f, 1) if t.startswith("request_route"))
    assert "# %s:%d\ndef _route_request_main(ctx):" % (path, line) in out


# --- -A defines pick the #!ifdef branch ------------------------------------------------------

def test_cli_defines_select_ifdef_branch():
    """ifndef_branch.cfg has a syntax error in its #!ifndef WITH_BACKEND branch only."""
    args = ["-c", "-f", "ifndef_branch.cfg"]
    r = run_cli(args, cwd=BROKEN_DIR)
    assert r.returncode == 1
    assert error_lines(r.stderr) == ["ifndef_branch.cfg:19:1: missing ';' before '}'"]

    r = run_cli(["-A", "WITH_BACKEND=1"] + args, cwd=BROKEN_DIR)
    assert r.returncode == 0, r.stderr
    assert "is valid" in r.stderr

    r = run_cli(["-A", 'WITH_BACKEND="yes"'] + args, cwd=BROKEN_DIR)
    assert r.returncode == 0, r.stderr

    # a string value from the command line wins over the config's #!trydef
    r = run_cli(["-A", "WITH_BACKEND", "-A", 'BACKEND_URI="sip:192.0.2.9:5060"',
                 "--dump-compiled"] + args, cwd=BROKEN_DIR)
    assert r.returncode == 0, r.stderr
    assert "'sip:192.0.2.9:5060'" in r.stdout
    assert "127.0.0.1:5070" not in r.stdout

    r = run_cli(["-A", "WITH_BACKEND", "--dump-compiled"] + args, cwd=BROKEN_DIR)
    assert r.returncode == 0, r.stderr
    assert "'sip:127.0.0.1:5070'" in r.stdout


# --- cfg_broken/: exact errors -----------------------------------------------------------------

@pytest.mark.parametrize("name", BROKEN)
def test_broken_config_errors(name):
    base = name[:-len(".cfg")]
    with open(os.path.join(BROKEN_DIR, base + ".expect")) as f:
        expected = [ln for ln in f.read().splitlines() if ln.strip()]
    assert expected, "%s.expect is empty" % base
    r = run_cli(["-c", "-f", name], cwd=BROKEN_DIR)
    assert r.returncode == 1, r.stderr
    got = error_lines(r.stderr)
    assert got == expected
    n = len(expected)
    assert r.stderr.splitlines()[-1] == "kampy: %d error%s in %s" % (n, "" if n == 1 else "s", name)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_config_fails_in_process(name):
    with pytest.raises(ConfigErrors) as ei:
        compile_config(os.path.join(BROKEN_DIR, name))
    for e in ei.value.errors:
        assert e.pos is not None and e.message, str(e)


def test_every_expect_has_its_config():
    for p in glob.glob(os.path.join(BROKEN_DIR, "*.expect")):
        assert os.path.isfile(p[:-len(".expect")] + ".cfg"), p


# --- cfg_pending/: valid once their modules land -----------------------------------------------
#
# A config stays here while kampy lacks a module it loads.  When a module
# lands, drop it from the `# pending:` lines; when a config's line would be
# empty, move the config to cfg/ (without that line), where it must check
# clean like every other real-world config.

# What the modules named on `# pending:` lines export, as their Kamailio
# manuals document it: name -> (parameter kinds per arity, allowed routes),
# pseudo-variables (name -> writable) and modparams (name -> type).  It tells
# which errors of a pending config follow from a missing module, and builds
# stand-in modules to check the rest of the config.  A module used by a
# pending config must be listed here.
ANY = "ANY_ROUTE"
RQ = "REQUEST_ROUTE|FAILURE_ROUTE|BRANCH_ROUTE"
PENDING_MODULES = {
    "uac": {
        "functions": {
            "uac_replace_from": ([("Fmt",), ("Fmt", "Fmt")], "REQUEST_ROUTE|BRANCH_ROUTE"),
            "uac_replace_to": ([("Fmt",), ("Fmt", "Fmt")], "REQUEST_ROUTE|BRANCH_ROUTE"),
            "uac_restore_from": ([()], "REQUEST_ROUTE"),
            "uac_restore_to": ([()], "REQUEST_ROUTE"),
            "uac_auth": ([()], "FAILURE_ROUTE"),
            "uac_req_send": ([()], RQ + "|ONREPLY_ROUTE|LOCAL_ROUTE"),
            "uac_reg_lookup": ([("Fmt", "PVW")], ANY),
            "uac_reg_status": ([("Fmt",)], ANY),
            "uac_reg_request_to": ([("Fmt", "IntV")], RQ),
            "uac_reg_enable": ([("Fmt", "Fmt")], ANY),
            "uac_reg_disable": ([("Fmt", "Fmt")], ANY),
            "uac_reg_refresh": ([("Fmt",)], ANY),
        },
        "pvs": {"uac_req": True},
        "params": {
            "rr_from_store_param": str, "rr_to_store_param": str, "restore_mode": str,
            "restore_dlg": int, "restore_passwd": str, "restore_from_avp": str,
            "restore_to_avp": str, "credential": [str], "auth_realm_avp": str,
            "auth_username_avp": str, "auth_password_avp": str, "reg_db_url": str,
            "reg_timer_interval": int, "reg_retry_interval": int, "reg_random_delay": int,
            "reg_db_table": str, "reg_contact_addr": str, "reg_keep_callid": int,
            "reg_active": int, "reg_gc_interval": int,
        },
    },
    "registrar": {
        "functions": {
            "save": ([("Str",), ("Str", "Fmt")], "REQUEST_ROUTE|FAILURE_ROUTE|ONREPLY_ROUTE"),
            "lookup": ([("Str",), ("Str", "Fmt")], "REQUEST_ROUTE|FAILURE_ROUTE"),
            "registered": ([("Str",)], ANY),
        },
        "pvs": {"ulc": False},
        "params": {"method_filtering": int, "max_expires": int, "gruu_enabled": int},
    },
    "usrloc": {"functions": {}, "pvs": {}, "params": {"db_mode": int, "db_url": str}},
    "db_mysql": {"functions": {}, "pvs": {}, "params": {"ping_interval": int}},
    "db_sqlite": {"functions": {}, "pvs": {}, "params": {"db_set_readonly": str}},
}

_STUB_HEAD = '''# SPDX-License-Identifier: GPL-2.0-or-later
"""Stand-in for a module kampy does not have yet (test_cfg_corpus)."""
from kampy.module import *
from kampy.script.pv import PV


class _PV(PV):
    __slots__ = ()

    def get(self, ctx):
        return None


class _WPV(_PV):
    __slots__ = ()
    writable = True

    def set(self, ctx, value):
        pass


def _pv(cls):
    return lambda spec, resolve: cls(spec)
'''


def _stub_source(name, spec):
    lines = [_STUB_HEAD]
    funcs = []
    for k, (fname, (sigs, routes)) in enumerate(sorted(spec["functions"].items())):
        for j, kinds in enumerate(sigs):
            py = "_f%d_%d" % (k, j)
            params = "".join(", a%d: %s" % (i, kind) for i, kind in enumerate(kinds))
            lines.append("def %s(ctx%s):\n    return 1\n" % (py, params))
            funcs.append("Func(%r, %s, %s)" % (fname, py, routes))
    params = []
    for pname, ptype in sorted(spec["params"].items()):
        multi = isinstance(ptype, list)
        t = ptype[0] if multi else ptype
        params.append("Param(%r, %s, multi=%r)" % (pname, t.__name__, multi))
    pvs = ["PvDef(%r, _pv(%s))" % (n, "_WPV" if w else "_PV")
           for n, w in sorted(spec["pvs"].items())]
    lines.append("exports = Module(name=%r, params=ParamValues([%s]), functions=[%s], pvs=[%s])\n"
                 % (name, ", ".join(params), ", ".join(funcs), ", ".join(pvs)))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("pending_stubs")
    for name, spec in PENDING_MODULES.items():
        (d / (name + ".py")).write_text(_stub_source(name, spec))
    return str(d)


def pending_modules(path):
    with open(path) as f:
        first = f.readline()
    m = re.match(r"# pending:((?:\s+[A-Za-z0-9_]+)+)\s*$", first)
    assert m, "%s must start with '# pending: MODULE ...'" % path
    return m.group(1).split()


def _owner(kind, name, modules):
    """The pending module among `modules` that exports `name`, or None."""
    for mod in modules:
        if name in PENDING_MODULES[mod][kind]:
            return mod
    return None


@pytest.mark.parametrize("name", PENDING)
def test_pending_config_fails_only_for_missing_modules(name):
    path = os.path.join(PENDING_DIR, name)
    pending = pending_modules(path)
    for mod in pending:
        assert mod in PENDING_MODULES, "describe module %r in PENDING_MODULES" % mod
    with pytest.raises(ConfigErrors) as ei:
        compile_config(path)
    not_found = []
    for e in ei.value.errors:
        msg = e.message
        m = re.match(r"module '([^']+)' not found", msg)
        if m:
            not_found.append(m.group(1))
            continue
        m = (re.match(r"modparam for module '([^']+)', which is not loaded$", msg))
        if m:
            assert m.group(1) in pending, str(e)
            continue
        m = re.match(r"unknown function '(\w+)' \(is its module loaded\?\)$", msg)
        if m:
            assert _owner("functions", m.group(1), pending), str(e)
            continue
        m = re.match(r"unknown pseudo-variable \$(\w+)$", msg)
        if m:
            assert _owner("pvs", m.group(1), pending), str(e)
            continue
        pytest.fail("error not caused by a pending module: %s" % e)
    assert sorted(not_found) == sorted(pending)


@pytest.mark.parametrize("name", PENDING)
def test_pending_config_compiles_with_stand_in_modules(name, stub_dir):
    """With stand-ins for its pending modules the config has no error: the
    arguments of their functions, the route names they take, the route
    types they are used in and their modparams all check."""
    compile_config(os.path.join(PENDING_DIR, name), mpath=[stub_dir])


def test_undefined_failure_route(stub_dir):
    """No module kampy has takes a failure_route name yet; tm's stand-in does."""
    text = ('loadmodule "sl.so"\nloadmodule "tm.so"\n'
            'request_route {\n\tt_on_failure("MISSING");\n\tt_relay();\n}\n'
            'failure_route[PRESENT] {\n\texit;\n}\n')
    with pytest.raises(ConfigErrors) as ei:
        compile_text(text, "t.cfg", mpath=[stub_dir])
    assert [str(e) for e in ei.value.errors] == [
        "t.cfg:4:15: failure_route[MISSING] is not defined"]
    compile_text(text.replace("MISSING", "PRESENT"), "t.cfg", mpath=[stub_dir])
