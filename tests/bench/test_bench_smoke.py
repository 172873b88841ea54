# SPDX-License-Identifier: GPL-2.0-or-later
"""The benchmark scenarios run for a moment at a low rate, so they cannot rot.
(They measure nothing here; the figures come from running them by hand.)"""

import subprocess

from tools.bench import s1, s2   # first: it puts tests/integration on sys.path

from harness import Kampy, free_udp_port  # noqa: E402
from toolcheck import require_tool  # noqa: E402


def test_s1_runs(tmp_path):
    require_tool("sipp")
    k = Kampy(tmp_path, s1.CFG, children=1).start()
    try:
        succ, fail, retr, took = s1.run_sipp(k.port, 50, 1, str(tmp_path))
    finally:
        k.stop()
    assert (succ, fail) == (50, 0)


def test_s2_runs(tmp_path):
    sipp = require_tool("sipp")
    callee = free_udp_port()
    uas = subprocess.Popen([sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(callee), "-nostdin",
                            "-timeout", "30s"], cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    k = Kampy(tmp_path, s2.CFG.replace("CALLEE", str(callee)), children=2).start()
    try:
        succ, fail, retr, took = s2.run_calls(k.port, 10, 1, str(tmp_path))
    finally:
        k.stop()
        uas.kill()
        uas.wait(5)
    assert (succ, fail) == (10, 0)


def test_s2u_runs(tmp_path):
    from tools.bench import s2u
    sipp = require_tool("sipp")
    callee = free_udp_port()
    uas = subprocess.Popen([sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(callee), "-nostdin",
                            "-timeout", "30s"], cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    k = Kampy(tmp_path, s2u.CFG.replace("CALLEE", str(callee)), children=2).start()
    try:
        succ, fail, retr, took = s2.run_calls(k.port, 10, 1, str(tmp_path))
    finally:
        k.stop()
        uas.kill()
        uas.wait(5)
    assert (succ, fail) == (10, 0)


def test_s3_runs(tmp_path, capsys):
    from tools.bench import s3
    require_tool("sipp")
    s3.run(50, 2, 0, str(tmp_path), limit=30)
    out = capsys.readouterr().out
    assert "s3 N=50 children=2: all registered" in out, out


def test_s4_runs(tmp_path):
    from tools.bench import s4
    require_tool("sipp")
    url, inf = s4.make_users(str(tmp_path), 20)
    k = Kampy(tmp_path, s4.CFG.replace("DBURL", url), children=2, defines={"WITH_AUTH": None}).start()
    try:
        succ, fail, retr, took = s4.run_registers(k.port, 10, 1, str(tmp_path), inf, auth=True)
    finally:
        k.stop()
    assert (succ, fail) == (10, 0)
