# SPDX-License-Identifier: GPL-2.0-or-later
"""The config corpus: real-world kamailio.cfg files that kampy must accept
(every config example of the uac manual among them), and broken ones whose
errors kampy must report exactly.

- `cfg/*.cfg` are complete configs that `kampy -c` accepts (shared snippets
  live in `cfg/inc/*.inc` and are only checked through the configs that
  include them).
- `cfg_broken/NAME.cfg` fails `kampy -c` with exactly the error lines of
  `cfg_broken/NAME.expect` (paths as printed when run beside the file).
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
CLI_TIMEOUT = 120


def _names(folder):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.cfg")))


VALID = _names(CFG_DIR)
BROKEN = _names(BROKEN_DIR)


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
    assert len([n for n in VALID if n.startswith("uac_")]) >= 18   # the seed manual's examples


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


def test_undefined_failure_route():
    """t_on_failure() names a failure_route that must exist."""
    text = ('loadmodule "sl.so"\nloadmodule "tm.so"\n'
            'request_route {\n\tt_on_failure("MISSING");\n\tt_relay();\n}\n'
            'failure_route[PRESENT] {\n\texit;\n}\n')
    with pytest.raises(ConfigErrors) as ei:
        compile_text(text, "t.cfg")
    assert [str(e) for e in ei.value.errors] == [
        "t.cfg:4:15: failure_route[MISSING] is not defined"]
    compile_text(text.replace("MISSING", "PRESENT"), "t.cfg")
