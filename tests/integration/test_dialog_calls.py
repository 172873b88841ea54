# SPDX-License-Identifier: GPL-2.0-or-later
"""Calls through the daemon (children=4, tm + rr + dialog, dlg_manage() on the
INVITE) between a sipp caller and a sipp callee: hang-up by either side, a
dialog variable set on the INVITE and read on the BYE (the proxy writes it
into an X-Who header that the other side checks), dlg.list while the calls
are up, and calls ended by the proxy itself (dlg_bye() from a route,
dlg.end_dlg from kampyctl) where both sides must get a BYE."""

import subprocess

import pytest

from harness import Kampy, SCENARIOS, free_udp_port, wait_for
from toolcheck import require_tool

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "dialog.so"
loadmodule "xlog.so"
loadmodule "siputils.so"
loadmodule "textops.so"
modparam("dialog", "default_timeout", 120)
modparam("dialog", "dlg_extra_hdrs", "X-Who: kampy\\r\\n")
request_route {
    if (has_totag()) {
        if (loose_route()) {
            if (is_method("BYE")) {
                append_hf("X-Who: $dlg_var(who)\\r\\n");
                xlog("L_INFO", "DLGBYE who=$dlg_var(who) dir=$dlg(dir) state=$dlg(state)\\n");
            }
            if (is_method("INFO")) {
                sl_send_reply("200", "OK");
                if (!dlg_bye("all")) { xlog("L_ERR", "dlg_bye failed\\n"); }
                exit;
            }
            t_relay();
            exit;
        }
        sl_send_reply("404", "No route");
        exit;
    }
    if (is_method("INVITE")) {
        record_route();
        dlg_manage();
        $dlg_var(who) = "caller-" + $fU;
    }
    t_relay("127.0.0.1", CALLEE);
}
"""


class Sipp:
    """A sipp in the background, stopped (killed if need be) by the fixture."""

    def __init__(self, tmp_path, scenario, args):
        exe = require_tool("sipp")
        self.port = free_udp_port()
        cmd = [exe] + [str(a) for a in args] + [
            "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(self.port), "-nostdin",
            "-timeout", "30s", "-timeout_error", "-trace_err"]
        self.proc = subprocess.Popen(cmd, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

    def wait(self, timeout=40):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None, "sipp did not finish"
        return self.proc.returncode, out[-2000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=5)


@pytest.fixture
def net(tmp_path):
    things = []
    yield things
    for t in reversed(things):
        t.stop()


def start(net, tmp_path, callee_scn, calls=1):
    callee = Sipp(tmp_path, callee_scn, ["-m", calls])
    net.append(callee)
    k = Kampy(tmp_path, CFG.replace("CALLEE", str(callee.port)), children=4).start()
    net.append(k)
    return callee, k


def call(net, tmp_path, k, caller_scn, extra=()):
    caller = Sipp(tmp_path, caller_scn, ["127.0.0.1:%d" % k.port] + list(extra))
    net.append(caller)
    return caller


def errors(tmp_path, k):
    logs = "".join(p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*errors.log"))
    return logs + "\n--- kampy ---\n" + k.output()[-3000:]


def stats(k):
    return {a: int(b) for a, b in (x.split(" = ") for x in k.rpc("stats.get_statistics", "dialog:"))}


def finished(sipp, tmp_path, k):
    rc, out = sipp.wait()
    assert rc == 0, out + errors(tmp_path, k)


def test_caller_hangs_up_dlg_var_reaches_the_bye_and_dlg_list_shows_the_calls(net, tmp_path):
    callee, k = start(net, tmp_path, "dlg_callee.xml", calls=3)
    caller = call(net, tmp_path, k, "dlg_caller.xml", ["-m", 3, "-r", 10, "-d", 2500])
    assert wait_for(lambda: sum(d["state"] == 4 for d in k.rpc("dlg.list")) == 3, 15), errors(tmp_path, k)
    dlgs = k.rpc("dlg.list")
    assert all(d["variables"] == {"who": "caller-sipp"} and d["to_tag"] for d in dlgs)
    assert stats(k)["dialog:active_dialogs"] == 3
    out = k.kampyctl("dlg.list")
    assert out.returncode == 0 and out.stdout.count("call-id: ") == 3, out.stdout
    finished(caller, tmp_path, k)
    finished(callee, tmp_path, k)
    assert wait_for(lambda: k.output().count("DLGBYE who=caller-sipp dir=1 state=5") == 3, 5), errors(tmp_path, k)
    s = stats(k)
    assert (s["dialog:active_dialogs"], s["dialog:processed_dialogs"]) == (0, 3)
    assert "ERROR" not in k.output() and "Traceback" not in k.output(), k.output()[-3000:]


def test_callee_hangs_up(net, tmp_path):
    callee, k = start(net, tmp_path, "dlg_callee_bye.xml", calls=2)
    caller = call(net, tmp_path, k, "dlg_caller_wait.xml", ["-m", 2, "-r", 10])
    finished(caller, tmp_path, k)
    finished(callee, tmp_path, k)
    assert wait_for(lambda: k.output().count("DLGBYE who=caller-sipp dir=2 state=5") == 2, 5), errors(tmp_path, k)
    assert stats(k)["dialog:active_dialogs"] == 0
    assert "ERROR" not in k.output(), k.output()[-3000:]


def test_dlg_bye_from_a_route_ends_the_call_on_both_sides(net, tmp_path):
    callee, k = start(net, tmp_path, "dlg_callee_kbye.xml", calls=2)
    caller = call(net, tmp_path, k, "dlg_caller_info.xml", ["-m", 2, "-r", 10])
    finished(caller, tmp_path, k)
    finished(callee, tmp_path, k)
    assert wait_for(lambda: all(d["state"] == 5 for d in k.rpc("dlg.list")), 5)
    assert stats(k)["dialog:active_dialogs"] == 0
    # four BYEs of the proxy's own, each answered 200 (none timed out)
    byes = lambda: [t for t in k.rpc("tm.list") if t["method"] == "BYE"]
    assert wait_for(lambda: len(byes()) == 4 and all(t["final"] == 200 for t in byes()), 5), byes()
    assert all(t["from"] == "local" and t["cseq"] == "2 BYE" for t in byes())
    assert k.rpc("tm.stats")["timeouts"] == 0
    assert "ERROR" not in k.output(), k.output()[-3000:]


def test_end_dlg_from_kampyctl(net, tmp_path):
    callee, k = start(net, tmp_path, "dlg_callee_kbye.xml")
    caller = call(net, tmp_path, k, "dlg_caller_kbye.xml", ["-m", 1])
    assert wait_for(lambda: [d for d in k.rpc("dlg.list") if d["state"] == 4], 15), errors(tmp_path, k)
    [d] = k.rpc("dlg.list")
    r = k.kampyctl("dlg.end_dlg", str(d["h_entry"]), str(d["h_id"]))
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    finished(caller, tmp_path, k)
    finished(callee, tmp_path, k)
    assert k.rpc("dlg.list")[0]["state"] == 5 and stats(k)["dialog:active_dialogs"] == 0
    r = k.kampyctl("dlg.end_dlg", str(d["h_entry"]), str(d["h_id"]))
    assert r.returncode == 1 and r.stdout.strip() == "error: 404 - Dialog not found"
