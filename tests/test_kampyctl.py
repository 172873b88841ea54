# SPDX-License-Identifier: GPL-2.0-or-later
"""kampyctl (kampy.ctl): argument typing, kamcmd's text format, --json, and
runs against a real server on a Unix socket."""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from kampy import ctl, rpc
from kampy.ctl import UsageError, format_fault, format_text, parse_arg, parse_cmdline

ROOT = pathlib.Path(__file__).resolve().parent.parent


# --- arguments ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("5", 5), ("-3", -3), ("+7", 7), ("007", 7), ("0", 0),
    ("s:123", "123"), ("s:", ""), ("s:s:x", "s:x"), ("i:5", 5), ("i:-12", -12),
    ("d:1.5", 1.5), ("d:-2", -2.0), ("d:1e3", 1000.0),
    ("1.5", "1.5"), ("abc", "abc"), ("0x10", "0x10"), ("1_000", "1_000"), ("-", "-"),
    ("", ""), ("sl:", "sl:"), ("x:1", "x:1"), ("٣", "٣"),
])
def test_parse_arg(text, value):
    got = parse_arg(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text", ["i:x", "i:", "i:1.5", "d:x", "d:", "d:nan", "d:inf"])
def test_parse_arg_bad(text):
    with pytest.raises(UsageError):
        parse_arg(text)


def test_parse_cmdline(monkeypatch):
    monkeypatch.delenv("KAMPY_CTL", raising=False)
    o = parse_cmdline(["core.psx"])
    assert (o.socket, o.timeout, o.json, o.method, o.params) == ("/tmp/kampy_ctl", 10.0, False,
                                                                 "core.psx", [])
    o = parse_cmdline(["-s", "unix:/run/k.sock", "--json", "-t", "2.5", "cnt.get", "sl", "s:5",
                       "-s", "--json", "-3"])
    assert (o.socket, o.timeout, o.json) == ("/run/k.sock", 2.5, True)
    assert (o.method, o.params) == ("cnt.get", ["sl", "5", "-s", "--json", -3])
    assert parse_cmdline(["-s/x/y", "-t1", "m"]).socket == "/x/y"
    assert parse_cmdline(["--", "-odd.method", "1"]).method == "-odd.method"
    monkeypatch.setenv("KAMPY_CTL", "unix:/env/ctl")
    assert parse_cmdline(["m"]).socket == "/env/ctl"
    assert parse_cmdline(["-s", "/cli/ctl", "m"]).socket == "/cli/ctl"
    assert parse_cmdline(["-h"]).help and parse_cmdline(["-s", "/x", "--help", "m"]).help


@pytest.mark.parametrize("argv", [[], ["-s"], ["-s", "/x"], ["-t", "0", "m"], ["-t", "x", "m"],
                                  ["-t", "nan", "m"], ["-x", "m"], ["-s", "tcp:1.2.3.4:2049", "m"],
                                  ["-s", "unix:", "m"], ["m", "i:zz"]])
def test_parse_cmdline_errors(argv):
    with pytest.raises(UsageError):
        parse_cmdline(argv)


def test_build_request():
    data = ctl.build_request("core.echo", ["12", 5, "x"])
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {"jsonrpc": "2.0", "method": "core.echo", "params": ["12", 5, "x"],
                                "id": 1}


# --- kamcmd's text format ---------------------------------------------------------------------

def test_format_scalars():
    assert format_text("kampy 0.1.0 (x86_64/linux)") == "kampy 0.1.0 (x86_64/linux)\n"
    assert format_text(42) == "42\n"
    assert format_text(-1) == "-1\n"
    assert format_text(1.5) == "1.500000\n"
    assert format_text(True) == "1\n" and format_text(False) == "0\n"
    assert format_text("") == "<null string>\n"
    assert format_text(None) == ""


def test_format_struct():
    assert format_text({"omode": 0, "nmode": 1}) == "{\n\tomode: 0\n\tnmode: 1\n}\n"
    assert format_text({}) == "{\n}\n"
    assert format_text({"socket": "", "auth_proxy": "none", "x": None}) == (
        "{\n\tsocket: <null string>\n\tauth_proxy: none\n\tx: <null string>\n}\n")


def test_format_array_prints_items_in_turn():
    assert format_text(["12", 5, "x"]) == "12\n5\nx\n"
    assert format_text([]) == ""
    assert format_text(["uac:regactive = 0", "uac:regtotal = 2"]) == (
        "uac:regactive = 0\nuac:regtotal = 2\n")
    assert format_text([{"IDX": 0, "PID": 10, "DSC": "main"}, {"IDX": 1, "PID": 11, "DSC": ""}]) == (
        "{\n\tIDX: 0\n\tPID: 10\n\tDSC: main\n}\n"
        "{\n\tIDX: 1\n\tPID: 11\n\tDSC: <null string>\n}\n")


def test_format_nested():
    assert format_text({"h_entry": 1, "caller": {"tag": "a", "cseq": 2}, "state": 4}) == (
        "{\n"
        "\th_entry: 1\n"
        "\tcaller: {\n"
        "\t\ttag: a\n"
        "\t\tcseq: 2\n"
        "\t}\n"
        "\tstate: 4\n"
        "}\n")
    assert format_text({"sl": {"200_replies": 4}, "core": {}}) == (
        "{\n\tsl: {\n\t\t200_replies: 4\n\t}\n\tcore: {\n\t}\n}\n")
    # kamcmd opens an array member one tab deeper, items at that depth too
    assert format_text({"name": "x", "list": [1, {"k": "v"}, ""]}) == (
        "{\n"
        "\tname: x\n"
        "\t\tlist: [\n"
        "\t\t1\n"
        "\t\t{\n"
        "\t\t\tk: v\n"
        "\t\t}\n"
        "\t\t<null string>\n"
        "\t]\n"
        "}\n")
    assert format_text([[1, 2], 3]) == "\t[\n\t1\n\t2\n]\n3\n"


def test_format_fault():
    assert format_fault({"code": 404, "message": "Record not found"}) == (
        "error: 404 - Record not found\n")
    assert format_fault({"code": -32601, "message": "Method not found"}) == (
        "error: -32601 - Method not found\n")


# --- against a server ------------------------------------------------------------------------

class RT:
    version_text = "kampy 0.1.0 (x86_64/linux)"
    start_time = 0
    counters = {"sl:200_replies": 4, "sl:sent_replies": 5}

    def procs(self):
        return [{"IDX": 0, "PID": 1, "DSC": "main process - attendant"}]

    def shm_stats(self):
        return {"total": 1, "free": 1, "used": 0, "real_used": 0, "max_used": 0, "fragments": 1}


def fault(rt):
    """t.fault"""
    raise rpc.RpcFault(409, "uuid already exists")


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="kc", dir="/tmp")   # short: AF_UNIX paths are limited
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(sockdir):
    path = os.path.join(sockdir, "ctl")
    reg = rpc.core_methods(rpc.RpcRegistry())
    reg.add("t.fault", fault)
    reg.add("t.void", lambda rt: None)
    rt = RT()
    rt.rpc = reg
    stop = threading.Event()
    t = threading.Thread(target=rpc.serve, args=(path, reg, rt, stop.is_set), daemon=True)
    t.start()
    for _ in range(100):
        if os.path.exists(path):
            break
        time.sleep(0.02)
    yield path
    stop.set()
    t.join(5)
    assert not t.is_alive()


def run_main(capsys, argv):
    code = ctl.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_main_text(server, capsys):
    assert run_main(capsys, ["-s", "unix:" + server, "core.echo", "s:12", "5", "x"]) == (
        0, "12\n5\nx\n", "")
    assert run_main(capsys, ["-s", server, "stats.get_statistics", "sl:"]) == (
        0, "sl:200_replies = 4\nsl:sent_replies = 5\n", "")
    assert run_main(capsys, ["-s", server, "cnt.grp_get_all", "sl"]) == (
        0, "{\n\t200_replies: 4\n\tsent_replies: 5\n}\n", "")
    assert run_main(capsys, ["-s", server, "t.void"]) == (0, "", "")


def test_main_fault(server, capsys):
    assert run_main(capsys, ["-s", server, "t.fault"]) == (
        1, "error: 409 - uuid already exists\n", "")
    assert run_main(capsys, ["-s", server, "no.such"]) == (
        1, "error: -32601 - Method not found\n", "")
    assert run_main(capsys, ["-s", server, "cnt.get", "sl", "nope"]) == (
        1, "error: 400 - non-existent counter sl.nope\n", "")


def test_main_json(server, capsys):
    code, out, err = run_main(capsys, ["-s", server, "--json", "core.psx"])
    assert code == 0 and err == ""
    assert out == json.dumps([{"IDX": 0, "PID": 1, "DSC": "main process - attendant"}],
                             indent=2) + "\n"
    assert run_main(capsys, ["-s", server, "--json", "t.void"]) == (0, "null\n", "")
    code, out, _ = run_main(capsys, ["-s", server, "--json", "t.fault"])
    assert code == 1 and json.loads(out) == {"code": 409, "message": "uuid already exists"}


def test_main_usage(capsys):
    code, out, err = run_main(capsys, ["-h"])
    assert code == 0 and out.startswith("usage: kampyctl") and err == ""
    code, out, err = run_main(capsys, [])
    assert code == 2 and out == "" and "no method given" in err and "usage:" in err


def test_main_no_reply_in_time(sockdir, capsys):
    path = os.path.join(sockdir, "mute")
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(path)
    mute.listen(1)                                # accepts (backlog) but never answers
    try:
        t0 = time.monotonic()
        code, out, err = run_main(capsys, ["-s", path, "-t", "0.3", "core.version"])
        assert time.monotonic() - t0 < 3
        assert code == 2 and out == "" and "no reply from unix:%s" % path in err
    finally:
        mute.close()


def test_end_to_end_subprocess(server):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "kampy.ctl", "-s", "unix:" + server,
                          "core.echo", "s:12", "5", "x"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=30)
    assert (out.returncode, out.stdout, out.stderr) == (0, "12\n5\nx\n", "")
    out = subprocess.run([str(ROOT / "tools" / "kampyctl"), "-s", server, "--json",
                          "core.echo", "i:3", "d:0.5"],
                         capture_output=True, text=True, cwd="/", timeout=30)
    assert out.returncode == 0 and json.loads(out.stdout) == [3, 0.5]


def test_missing_socket_subprocess(sockdir):
    path = os.path.join(sockdir, "nobody")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "kampy.ctl", "-s", "unix:" + path, "core.version"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=30)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1
    assert path in out.stderr and "is kampy running?" in out.stderr
