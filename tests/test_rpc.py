# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy.rpc: JSON-RPC 2.0 handling (sans-IO), the core methods against a fake
runtime, and the server on a real Unix socket."""

import json
import logging
import os
import random
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time

import pytest

from kampy import rpc
from kampy.module import Rpc
from kampy.rpc import RpcFault, RpcRegistry, handle_request


# --- a fake runtime -------------------------------------------------------------------------

class FakeCounters:
    def __init__(self, values):
        self.d = dict(values)

    def names(self):
        return list(self.d)

    def get(self, name):
        return self.d[name]

    def reset(self, name):
        self.d[name] = 0

    def get_all(self):
        return dict(self.d)


COUNTERS = {"sl:200_replies": 4, "sl:sent_replies": 5, "sl:sent_err_replies": 1,
            "core:rcv_requests": 9, "core:fwd_requests": 2, "uac:regactive": 0,
            "uac:200_replies": 7}


class FakeRT:
    version_text = "kampy 0.1.0 (x86_64/linux)"

    def __init__(self, registry):
        self.start_time = int(time.time()) - 100
        self.counters = FakeCounters(COUNTERS)
        self.rpc = registry

    def procs(self):
        return [{"IDX": 0, "PID": 100, "DSC": "main process - attendant"},
                {"IDX": 1, "PID": 101, "DSC": "kampy: udp receiver child=0 sock=udp:127.0.0.1:5060"},
                {"IDX": 2, "PID": 102, "DSC": "kampy: ctl handler"}]

    def shm_stats(self):
        return {"total": 64 << 20, "free": 60 << 20, "used": 3 << 20, "real_used": 4 << 20,
                "max_used": 5 << 20, "fragments": 12}


def t_add(rt, a, b):
    """t.add a b"""
    return a + b


def t_kw(rt, a, b=2):
    """t.kw a [b]"""
    return [a, b]


def t_fault(rt):
    """t.fault"""
    raise RpcFault(404, "Record not found")


def t_boom(rt):
    """t.boom"""
    raise ValueError("boom went the method")


def t_not_json(rt):
    """t.not_json"""
    return {1, 2}


@pytest.fixture
def reg():
    r = rpc.core_methods(RpcRegistry())
    for name, fn in (("t.add", t_add), ("t.kw", t_kw), ("t.fault", t_fault),
                     ("t.boom", t_boom), ("t.not_json", t_not_json)):
        r.add(name, fn)
    return r


@pytest.fixture
def rt(reg):
    return FakeRT(reg)


def ask(rt, reg, obj):
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    out = handle_request(rt, reg, data)
    return json.loads(out) if out else None


def req(method, params=None, rid=1):
    r = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params is not None:
        r["params"] = params
    return r


def result(rt, reg, method, *params):
    resp = ask(rt, reg, req(method, list(params)))
    assert "error" not in resp, resp
    return resp["result"]


def error(rt, reg, method, *params):
    resp = ask(rt, reg, req(method, list(params)))
    assert "result" not in resp, resp
    return resp["error"]["code"], resp["error"]["message"]


# --- handle_request: JSON-RPC 2.0 ------------------------------------------------------------

@pytest.mark.parametrize("data", [b"{not json", b"", b"   ", b'{"jsonrpc": "2.0"', b"\xff\xfe{}",
                                  b"[" * 100000, b'{"a": ' + b"9" * 5000 + b"}", b"nul"])
def test_parse_error(rt, reg, data):
    assert ask(rt, reg, data) == {"jsonrpc": "2.0", "id": None,
                                  "error": {"code": -32700, "message": "Parse error"}}


@pytest.mark.parametrize("obj, rid", [
    ({"jsonrpc": "1.0", "method": "core.echo", "id": 3}, 3),
    ({"method": "core.echo", "id": 3}, 3),
    ({"jsonrpc": "2.0", "method": 5, "id": 3}, 3),
    ({"jsonrpc": "2.0", "id": 3}, 3),
    ({"jsonrpc": "2.0", "method": "core.echo", "params": "x", "id": 3}, 3),
    ({"jsonrpc": "2.0", "method": "core.echo", "params": 7, "id": "a"}, "a"),
    ({"jsonrpc": "2.0", "method": "core.echo", "id": True}, None),
    ({"jsonrpc": "2.0", "method": "core.echo", "id": {"x": 1}}, None),
    (42, None),
    ("core.echo", None),
])
def test_invalid_request(rt, reg, obj, rid):
    resp = ask(rt, reg, obj)
    assert resp == {"jsonrpc": "2.0", "id": rid,
                    "error": {"code": -32600, "message": "Invalid Request"}}


def test_success_echoes_id(rt, reg):
    assert ask(rt, reg, req("t.add", [2, 3], rid="x-1")) == {"jsonrpc": "2.0", "result": 5,
                                                               "id": "x-1"}
    assert ask(rt, reg, req("core.echo", rid=None)) == {"jsonrpc": "2.0", "result": [], "id": None}


def test_unknown_method(rt, reg):
    assert error(rt, reg, "nope.nothing") == (-32601, "Method not found")


@pytest.mark.parametrize("method, params", [("t.add", [1]), ("t.add", [1, 2, 3]),
                                            ("core.version", ["x"]), ("cnt.reset", ["sl"]),
                                            ("cnt.get", [])])
def test_wrong_arity(rt, reg, method, params):
    assert error(rt, reg, method, *params) == (400, "Invalid parameters")


def test_object_params_are_keywords(rt, reg):
    assert ask(rt, reg, req("t.kw", {"a": 1}))["result"] == [1, 2]
    assert ask(rt, reg, req("t.kw", {"a": 1, "b": 5}))["result"] == [1, 5]
    for bad in ({"b": 1}, {"a": 1, "c": 2}, {"rt": 1, "a": 2}):
        assert ask(rt, reg, req("t.kw", bad))["error"] == {"code": 400,
                                                           "message": "Invalid parameters"}


def test_fault_keeps_its_code(rt, reg):
    assert error(rt, reg, "t.fault") == (404, "Record not found")


def test_internal_exception_is_500_and_logged(rt, reg, caplog):
    with caplog.at_level(logging.ERROR, logger="kampy.rpc"):
        assert error(rt, reg, "t.boom") == (500, "boom went the method")
    assert any(r.name == "kampy.rpc" and "t.boom" in r.getMessage() for r in caplog.records)


def test_result_that_is_not_json(rt, reg):
    code, message = error(rt, reg, "t.not_json")
    assert code == 500 and "not JSON" in message


def test_notification_gets_no_response(rt, reg):
    for method in ("core.echo", "nope", "t.fault", "t.boom"):
        assert handle_request(rt, reg, json.dumps(
            {"jsonrpc": "2.0", "method": method}).encode()) == b""


def test_batch(rt, reg):
    out = ask(rt, reg, [req("t.add", [1, 2], rid=1),
                        {"jsonrpc": "2.0", "method": "core.echo", "params": [1]},
                        {"foo": "boo"},
                        req("nope", rid="u"),
                        req("t.fault", rid=5),
                        req("t.not_json", rid=6)])
    assert out == [
        {"jsonrpc": "2.0", "result": 3, "id": 1},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "u"},
        {"jsonrpc": "2.0", "error": {"code": 404, "message": "Record not found"}, "id": 5},
        {"jsonrpc": "2.0", "error": {"code": 500, "message": out[4]["error"]["message"]},
         "id": 6},
    ]
    assert "not JSON" in out[4]["error"]["message"]
    assert ask(rt, reg, []) == {"jsonrpc": "2.0", "id": None,
                                "error": {"code": -32600, "message": "Invalid Request"}}
    assert handle_request(rt, reg, json.dumps(
        [{"jsonrpc": "2.0", "method": "core.echo"}] * 3).encode()) == b""


def test_huge_request(rt, reg):
    data = json.dumps(req("core.echo", ["x" * rpc.MAX_REQUEST])).encode()
    assert ask(rt, reg, data)["error"] == {"code": -32600, "message": "request too large"}


def test_never_raises_on_random_bytes(rt, reg):
    rnd = random.Random(4475)
    pieces = [b"{", b"}", b"[", b"]", b'"jsonrpc"', b'"2.0"', b'"method"', b'"params"', b'"id"',
              b":", b",", b"1", b"-1e999", b"null", b"true", b'"core.echo"', b'"t.add"',
              b'"\\u00e9"', b"\xc3", b"\x00", b" ", b"\n"]
    for _ in range(2000):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randrange(1, 30)))
        out = handle_request(rt, reg, data)
        assert out == b"" or isinstance(json.loads(out), (dict, list))


# --- the registry ------------------------------------------------------------------------------

def test_registry_basics(reg):
    with pytest.raises(ValueError):
        reg.add("core.echo", t_add)
    assert reg.help("t.add") == "t.add a b"
    assert reg.help("nope") is None
    reg.add("t.undoc", lambda rt: 1)
    assert reg.help("t.undoc") == ""
    reg.add_all([Rpc("m.verb", t_kw, "m.verb a [b]\n\nMore text.")])
    assert reg.help("m.verb") == "m.verb a [b]"
    assert reg.names()[-2:] == ["t.undoc", "m.verb"]
    assert reg.call(None, "m.verb", [1]) == [1, 2]
    with pytest.raises(RpcFault) as e:
        reg.call(None, "nope", [])
    assert e.value.code == -32601 and str(e.value) == "-32601 - Method not found"


# --- core methods ------------------------------------------------------------------------------

def test_core_version(rt, reg):
    assert result(rt, reg, "core.version") == "kampy 0.1.0 (x86_64/linux)"
    del FakeRT.version_text
    try:
        assert result(rt, reg, "core.version").startswith("kampy 0.1.0 (")
    finally:
        FakeRT.version_text = "kampy 0.1.0 (x86_64/linux)"


def test_core_uptime(rt, reg):
    r = result(rt, reg, "core.uptime")
    assert list(r) == ["now", "up_since", "uptime"]
    assert 100 <= r["uptime"] <= 103
    assert r["up_since"] == time.ctime(rt.start_time)
    assert abs(time.mktime(time.strptime(r["now"])) - time.time()) < 3


def test_core_psx(rt, reg):
    assert result(rt, reg, "core.psx") == rt.procs()


def test_core_shmmem(rt, reg):
    assert result(rt, reg, "core.shmmem") == rt.shm_stats()
    assert result(rt, reg, "core.shmmem", "m") == {"total": 64, "free": 60, "used": 3,
                                                   "real_used": 4, "max_used": 5,
                                                   "fragments": 12}
    assert result(rt, reg, "core.shmmem", "k")["total"] == 64 << 10
    assert error(rt, reg, "core.shmmem", "parsecs")[0] == 400


def test_core_echo(rt, reg):
    assert result(rt, reg, "core.echo", "12", 5, "x", 1.5, None) == ["12", 5, "x", 1.5, None]
    assert result(rt, reg, "core.echo") == []


def test_system_methods(rt, reg):
    names = result(rt, reg, "system.listMethods")
    assert names[:3] == ["core.version", "core.uptime", "core.psx"]
    assert {"stats.get_statistics", "cnt.grp_get_all", "system.methodHelp", "t.add"} <= set(names)
    assert result(rt, reg, "system.methodHelp", "cnt.get") == "cnt.get group [name]"
    assert result(rt, reg, "system.methodHelp", "core.shmmem") == "core.shmmem [unit]"
    assert error(rt, reg, "system.methodHelp", "nope") == (400, "command not found")
    assert error(rt, reg, "system.methodHelp") == (400, "Method Name Expected")
    reg.add("t.undoc", lambda rt: 1)
    assert result(rt, reg, "system.methodHelp", "t.undoc") == "undocumented"


@pytest.mark.parametrize("selectors, lines", [
    (["all"], ["core:rcv_requests = 9", "core:fwd_requests = 2", "sl:200_replies = 4",
               "sl:sent_replies = 5", "sl:sent_err_replies = 1", "uac:regactive = 0",
               "uac:200_replies = 7"]),
    (["sl:"], ["sl:200_replies = 4", "sl:sent_replies = 5", "sl:sent_err_replies = 1"]),
    (["sl:200_replies"], ["sl:200_replies = 4"]),
    (["200_replies"], ["sl:200_replies = 4", "uac:200_replies = 7"]),
    (["regactive", "core:fwd_requests"], ["uac:regactive = 0", "core:fwd_requests = 2"]),
    (["nope"], []), (["nope:"], []), (["sl:nope"], []), (["nope", "sl:sent_replies"],
                                                         ["sl:sent_replies = 5"]),
])
def test_stats_get_statistics(rt, reg, selectors, lines):
    assert result(rt, reg, "stats.get_statistics", *selectors) == lines


def test_stats_get_statistics_needs_a_selector(rt, reg):
    assert error(rt, reg, "stats.get_statistics") == (400, "Please provide which stats to retrieve")


def test_stats_reset_statistics(rt, reg):
    assert result(rt, reg, "stats.reset_statistics", "sl:", "rcv_requests", "nope") is None
    c = rt.counters.d
    assert (c["sl:200_replies"], c["sl:sent_replies"], c["core:rcv_requests"]) == (0, 0, 0)
    assert (c["core:fwd_requests"], c["uac:200_replies"]) == (2, 7)
    result(rt, reg, "stats.reset_statistics", "all")
    assert set(c.values()) == {0}
    assert error(rt, reg, "stats.reset_statistics")[0] == 400


def test_cnt_methods(rt, reg):
    assert result(rt, reg, "cnt.get", "sl", "200_replies") == 4
    assert result(rt, reg, "cnt.get", "sl") == {"200_replies": 4, "sent_replies": 5,
                                                "sent_err_replies": 1}
    assert error(rt, reg, "cnt.get", "sl", "nope") == (400, "non-existent counter sl.nope")
    assert error(rt, reg, "cnt.get", "nope", "x") == (400, "non-existent counter nope.x")
    assert result(rt, reg, "cnt.grp_get_all", "uac") == {"regactive": 0, "200_replies": 7}
    assert result(rt, reg, "cnt.grp_get_all", "nope") == {}
    assert result(rt, reg, "cnt.get_all") == {
        "core": {"rcv_requests": 9, "fwd_requests": 2},
        "sl": {"200_replies": 4, "sent_replies": 5, "sent_err_replies": 1},
        "uac": {"regactive": 0, "200_replies": 7}}
    assert result(rt, reg, "cnt.grps_list") == ["core", "sl", "uac"]
    assert result(rt, reg, "cnt.var_list", "core") == ["rcv_requests", "fwd_requests"]
    assert result(rt, reg, "cnt.reset", "sl", "200_replies") is None
    assert rt.counters.d["sl:200_replies"] == 0
    assert error(rt, reg, "cnt.reset", "sl", "nope") == (400, "non-existent counter sl.nope")


def test_plain_dict_counters(rt, reg):
    rt.counters = {"sl:200_replies": 3, "core:rcv_requests": 1}
    assert result(rt, reg, "stats.get_statistics", "all") == ["core:rcv_requests = 1",
                                                             "sl:200_replies = 3"]
    result(rt, reg, "cnt.reset", "sl", "200_replies")
    assert rt.counters["sl:200_replies"] == 0


# --- the server ----------------------------------------------------------------------------------

@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="kr", dir="/tmp")   # short: AF_UNIX paths are limited
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(sockdir, rt, reg):
    path = os.path.join(sockdir, "ctl")
    stop = threading.Event()
    errors = []

    def run():
        try:
            rpc.serve(path, reg, rt, stop.is_set)
        except Exception as e:          # surfaced by the assertion below
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    for _ in range(100):
        # listening, not only bound: the file exists before listen(), and a
        # connect refused in between makes bind_socket take the socket for stale
        if errors:
            break
        try:
            connect(path, 0.5).close()
            break
        except OSError:
            time.sleep(0.02)
    srv = type("Server", (), {"path": path, "stop": stop, "thread": t, "errors": errors})
    yield srv
    stop.set()
    t.join(5)
    assert not t.is_alive() and not errors


def connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_lines(s, count):
    buf = b""
    while buf.count(b"\n") < count:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return [json.loads(line) for line in buf.splitlines()]


def test_serve_answers_and_cleans_up(server):
    assert stat.S_ISSOCK(os.stat(server.path).st_mode)
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o660
    with connect(server.path) as s:
        s.sendall(json.dumps(req("core.echo", ["a", 1])).encode() + b"\n")
        assert read_lines(s, 1) == [{"jsonrpc": "2.0", "result": ["a", 1], "id": 1}]
    server.stop.set()
    server.thread.join(5)
    assert not server.thread.is_alive()
    assert not os.path.exists(server.path)


def test_serve_several_requests_on_one_connection(server):
    with connect(server.path) as s:
        s.sendall(json.dumps(req("t.add", [1, 2], rid=1)).encode() + b"\n"
                  + b"\n"                                                  # blank: ignored
                  + json.dumps(req("t.fault", rid=2), indent=2).encode() + b"\n"   # multi-line
                  + json.dumps({"jsonrpc": "2.0", "method": "core.echo"}).encode() + b"\n"
                  + b"{oops}\n"
                  + json.dumps(req("core.echo", ["last"], rid=3)).encode())  # ended by shutdown
        s.shutdown(socket.SHUT_WR)
        answers = read_lines(s, 4)
        assert s.recv(10) == b""            # the server closes after the last answer
    assert answers == [{"jsonrpc": "2.0", "result": 3, "id": 1},
                       {"jsonrpc": "2.0", "error": {"code": 404, "message": "Record not found"},
                        "id": 2},
                       {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"},
                        "id": None},
                       {"jsonrpc": "2.0", "result": ["last"], "id": 3}]


def test_serve_request_split_across_writes(server):
    data = json.dumps(req("core.echo", ["é" * 10])).encode() + b"\n"
    with connect(server.path) as s:
        for i in range(0, len(data), 3):
            s.sendall(data[i:i + 3])
            time.sleep(0.001)
        assert read_lines(s, 1)[0]["result"] == ["é" * 10]


def test_serve_request_too_large(server):
    with connect(server.path) as s:
        try:
            s.sendall(b'{"jsonrpc": "2.0", "method": "core.echo", "params": ["'
                      + b"x" * (rpc.MAX_REQUEST + 70000))
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert read_lines(s, 1) == [{"jsonrpc": "2.0", "id": None,
                                     "error": {"code": -32600, "message": "request too large"}}]
        try:                                    # closed: unread input makes it a reset
            assert s.recv(10) == b""
        except ConnectionResetError:
            pass
    with connect(server.path) as s:             # the server goes on
        s.sendall(json.dumps(req("core.echo", [1])).encode() + b"\n")
        assert read_lines(s, 1)[0]["result"] == [1]


def test_serve_drops_a_silent_client(server, monkeypatch):
    monkeypatch.setattr(rpc, "IDLE_TIMEOUT", 0.6)
    with connect(server.path) as silent:
        t0 = time.monotonic()
        assert silent.recv(10) == b""
        assert time.monotonic() - t0 < 4
    with connect(server.path) as s:
        s.sendall(json.dumps(req("core.version")).encode() + b"\n")
        assert read_lines(s, 1)[0]["result"].startswith("kampy")


def test_serve_stops_while_a_client_is_connected(server):
    with connect(server.path):
        time.sleep(0.2)
        t0 = time.monotonic()
        server.stop.set()
        server.thread.join(3)
        assert not server.thread.is_alive()
        assert time.monotonic() - t0 < 1.5


def test_stale_socket_file_is_replaced(sockdir, rt, reg):
    path = os.path.join(sockdir, "ctl")
    old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old.bind(path)
    old.close()                                  # the file stays, nobody answers
    sock = rpc.bind_socket(path, 0o600)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with connect(path):
            pass
    finally:
        sock.close()


def test_live_socket_makes_bind_fail(server):
    with pytest.raises(rpc.CtlSocketError, match="another kampy is running"):
        rpc.bind_socket(server.path)
    with connect(server.path) as s:             # and the live one still works
        s.sendall(json.dumps(req("core.version")).encode() + b"\n")
        assert read_lines(s, 1)[0]["result"].startswith("kampy")


def test_bind_refuses_unusable_paths(sockdir):
    regular = os.path.join(sockdir, "file")
    with open(regular, "w") as f:
        f.write("keep me")
    with pytest.raises(rpc.CtlSocketError, match="not a socket"):
        rpc.bind_socket(regular)
    with open(regular) as f:
        assert f.read() == "keep me"
    with pytest.raises(rpc.CtlSocketError, match="No such file or directory"):
        rpc.bind_socket(os.path.join(sockdir, "missing", "ctl"))


def test_bound_before_fork_served_by_child(sockdir, rt, reg):
    """The supervisor's way: bind, fork the ctl process, stop it with SIGTERM;
    the socket file is the supervisor's to remove."""
    path = os.path.join(sockdir, "ctl")
    sock = rpc.bind_socket(path)
    pid = os.fork()
    if pid == 0:                                 # the ctl process
        code = 1
        try:
            stop = []
            signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
            rpc.serve_socket(sock, reg, rt, lambda: bool(stop))
            code = 0
        finally:
            os._exit(code)
    try:
        with connect(path) as s:
            s.sendall(json.dumps(req("core.psx")).encode() + b"\n")
            assert read_lines(s, 1)[0]["result"][2]["DSC"] == "kampy: ctl handler"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the ctl child did not stop on SIGTERM")
        assert os.waitstatus_to_exitcode(status) == 0
        assert os.path.exists(path)
    finally:
        sock.close()
        os.unlink(path)
