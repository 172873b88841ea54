# SPDX-License-Identifier: GPL-2.0-or-later
"""tm through the real daemon: sipp caller → kampy → sipp callee."""

import subprocess

import pytest

from harness import Kampy, SCENARIOS, free_udp_port, sipp, wait_for
from toolcheck import require_tool

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (has_totag()) { t_relay("127.0.0.1", CALLEE2); exit; }
    if (is_method("INVITE")) { t_on_failure("NEXT"); }
    t_relay("127.0.0.1", CALLEE);
    exit;
}
failure_route[NEXT] {
    if (t_is_canceled()) exit;
    if (t_check_status("486|408")) {
        t_relay("127.0.0.1", CALLEE2);
    }
}
"""


class Callee:
    """A sipp UAS in the background; stops itself after -timeout."""

    def __init__(self, tmp_path, scenario="uas", port=None, extra=()):
        self.port = port or free_udp_port()
        exe = require_tool("sipp")
        args = [exe, "-i", "127.0.0.1", "-p", str(self.port), "-nostdin", "-timeout", "60s"]
        if scenario in ("uas",):
            args += ["-sn", scenario]
        else:
            args += ["-sf", str(SCENARIOS / scenario)]
        self.proc = subprocess.Popen(args + list(extra), cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def net(tmp_path):
    things = []
    yield things
    for t in things:
        t.stop()


def test_calls_through_tm(net, tmp_path):
    callee = Callee(tmp_path)
    net.append(callee)
    k = Kampy(tmp_path, CFG.replace("CALLEE2", str(callee.port)).replace("CALLEE", str(callee.port)),
              children=4).start()
    net.append(k)
    r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob", "-m", 20, "-r", 10, "-i", "127.0.0.1",
              "-p", free_udp_port(), "-nostdin", "-timeout", "40s", "-timeout_error"], timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-1500:] + k.output()[-2000:]
    stats = {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", "tm:"))}
    # INVITE and BYE of each call (sipp sends the BYE to us); the ACK goes statelessly
    assert stats["tm:created"] == 40 and stats["tm:2xx_transactions"] == 40


def test_busy_callee_then_failure_route_to_second(net, tmp_path):
    busy = Callee(tmp_path, "uas_busy.xml")
    ok = Callee(tmp_path)
    net.extend([busy, ok])
    k = Kampy(tmp_path, CFG.replace("CALLEE2", str(ok.port)).replace("CALLEE", str(busy.port)),
              children=2).start()
    net.append(k)
    r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob", "-m", 5, "-r", 5, "-i", "127.0.0.1",
              "-p", free_udp_port(), "-nostdin", "-timeout", "40s", "-timeout_error"], timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-1500:] + k.output()[-2000:]
    stats = {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", "tm:"))}
    # two branches per INVITE (486, then the second callee), one per BYE
    assert stats["tm:relayed_branches"] == 15
    assert stats["tm:2xx_transactions"] == 10 and stats["tm:4xx_transactions"] == 0


def test_cancel_while_ringing(net, tmp_path):
    ring = Callee(tmp_path, "uas_ring_cancel.xml")
    net.append(ring)
    k = Kampy(tmp_path, CFG.replace("CALLEE2", str(ring.port)).replace("CALLEE", str(ring.port)),
              children=2).start()
    net.append(k)
    r = sipp(["127.0.0.1:%d" % k.port, "-sf", SCENARIOS / "uac_cancel.xml", "-m", 5, "-r", 5,
              "-i", "127.0.0.1", "-p", free_udp_port(), "-nostdin", "-timeout", "40s", "-timeout_error"],
             timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-1500:] + k.output()[-2000:]


def test_no_answer_times_out_to_failure_route(net, tmp_path):
    silent = Callee(tmp_path, "uas_silent.xml")
    ok = Callee(tmp_path)
    net.extend([silent, ok])
    cfg = CFG.replace("CALLEE2", str(ok.port)).replace("CALLEE", str(silent.port))
    cfg = cfg.replace('t_on_failure("NEXT");', 't_on_failure("NEXT"); t_set_fr(1500, 1000);')
    k = Kampy(tmp_path, cfg, children=2).start()
    net.append(k)
    r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob", "-m", 3, "-r", 3, "-i", "127.0.0.1",
              "-p", free_udp_port(), "-nostdin", "-timeout", "40s", "-timeout_error"], timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-1500:] + k.output()[-2000:]
    stats = {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", "tm:"))}
    assert stats["tm:timeouts"] == 3


def test_lossy_path_completes_every_call(net, tmp_path):
    """10 % of what the caller sends or receives is lost (sipp -lost 10):
    kampy absorbs the caller's retransmissions, answers them with its last
    reply, relays the callee's 2xx retransmissions and carries every call
    through.  (sipp drops a lost request's retransmissions as duplicates, so
    loss on the callee's side would break sipp itself, not the proxy.)"""
    callee = Callee(tmp_path, "uas_lossy.xml")
    net.append(callee)
    k = Kampy(tmp_path, CFG.replace("CALLEE2", str(callee.port)).replace("CALLEE", str(callee.port)),
              children=2).start()
    net.append(k)
    r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob", "-m", 20, "-r", 10, "-i", "127.0.0.1",
              "-p", free_udp_port(), "-nostdin", "-timeout", "80s", "-timeout_error",
              "-lost", "10", "-trace_err"], timeout=100, cwd=tmp_path)
    errors = "".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*errors.log"))
    assert r.returncode == 0, errors + k.output()[-2000:]


def test_tm_rpc_shows_transactions(net, tmp_path):
    ring = Callee(tmp_path, "uas_silent.xml")
    net.append(ring)
    k = Kampy(tmp_path, CFG.replace("CALLEE2", str(ring.port)).replace("CALLEE", str(ring.port)),
              children=2).start()
    net.append(k)
    caller = subprocess.Popen([require_tool("sipp"), "127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob",
                               "-m", "1", "-i", "127.0.0.1", "-p", str(free_udp_port()), "-nostdin",
                               "-timeout", "20s"], cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    net.append(type("P", (), {"stop": lambda self: (caller.kill(), caller.wait(5))})())
    assert wait_for(lambda: any(t["replies"] == "180" for t in k.rpc("tm.list")), 10)
    t = k.rpc("tm.list")[0]
    assert t["method"] == "INVITE" and t["cseq"] == "1 INVITE" and t["final"] == 0
    # the RFC's states: the server transaction has sent 100/180, its branch has rung
    assert (t["state"], t["branch_states"]) == ("Proceeding", "Proceeding")
    stats = k.rpc("tm.stats")
    assert stats["current"] >= 1 and stats["created"] >= 1
    out = k.kampyctl("tm.list")
    assert "method: INVITE" in out.stdout


def test_parallel_forking_one_answers_the_other_is_canceled(net, tmp_path):
    answer = Callee(tmp_path)
    ringing = Callee(tmp_path, "uas_silent.xml")
    net.extend([answer, ringing])
    cfg = CFG.replace('    t_relay("127.0.0.1", CALLEE);\n',
                      '    if (is_method("INVITE")) { $du = "sip:127.0.0.1:%d"; '
                      'append_branch("sip:bob@127.0.0.1:%d"); t_relay(); exit; }\n'
                      '    t_relay("127.0.0.1", CALLEE);\n' % (answer.port, ringing.port))
    k = Kampy(tmp_path, cfg.replace("CALLEE2", str(answer.port)).replace("CALLEE", str(answer.port)),
              children=2).start()
    net.append(k)
    r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob", "-m", 3, "-r", 3, "-i", "127.0.0.1",
              "-p", free_udp_port(), "-nostdin", "-timeout", "40s", "-timeout_error"], timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-1500:] + k.output()[-2000:]
    # the ringing callee got a CANCEL, answered 487 and received our ACK
    assert wait_for(lambda: k.rpc("tm.stats")["current"] <= 3, 10)
    stats = {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", "tm:"))}
    assert stats["tm:relayed_branches"] == 3 * 2 + 3   # two per INVITE, one per BYE


def test_300_concurrent_calls(net, tmp_path):
    callee = Callee(tmp_path)
    net.append(callee)
    k = Kampy(tmp_path, CFG.replace("CALLEE2", str(callee.port)).replace("CALLEE", str(callee.port)),
              children=4).start()
    net.append(k)
    r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob", "-m", 300, "-r", 60, "-d", 6000,
              "-l", 400, "-i", "127.0.0.1", "-p", free_udp_port(), "-nostdin", "-timeout", "90s",
              "-timeout_error"], timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-1500:] + k.output()[-2000:]
    stats = {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", "tm:"))}
    assert stats["tm:2xx_transactions"] == 600
