# SPDX-License-Identifier: GPL-2.0-or-later
"""dialog through the real daemon (children=4): sipp caller → kampy → sipp callee."""

import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "integration"))

from harness import Kampy, free_udp_port, wait_for  # noqa: E402
from toolcheck import require_tool  # noqa: E402

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "dialog.so"
loadmodule "xlog.so"
loadmodule "siputils.so"
loadmodule "textops.so"
modparam("dialog", "default_timeout", 120)
request_route {
    if (has_totag()) {
        if (!loose_route()) { dlg_manage(); }
        if (is_method("BYE")) {
            xlog("L_INFO", "DLGBYE who=$dlg_var(who) state=$dlg(state) dir=$dlg(dir) known=$dlg(h_id)\\n");
        }
        t_relay("127.0.0.1", CALLEE);
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


def test_call_is_listed_while_up_and_dlg_var_reaches_the_bye(tmp_path):
    exe = require_tool("sipp")
    callee_port = free_udp_port()
    procs = []
    k = None
    try:
        callee = subprocess.Popen([exe, "-i", "127.0.0.1", "-p", str(callee_port), "-sn", "uas", "-nostdin",
                                   "-timeout", "30s"], cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        procs.append(callee)
        k = Kampy(tmp_path, CFG.replace("CALLEE", str(callee_port)), children=4).start()
        caller = subprocess.Popen([exe, "127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "bob", "-m", "1",
                                   "-d", "3000", "-i", "127.0.0.1", "-p", str(free_udp_port()), "-nostdin",
                                   "-timeout", "25s", "-timeout_error"], cwd=str(tmp_path),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(caller)
        assert wait_for(lambda: any(d["state"] in (3, 4) for d in k.rpc("dlg.list")), 10), k.output()[-2000:]
        [d] = k.rpc("dlg.list")
        assert d["from_uri"].startswith("sip:sipp@") and d["to_tag"] and d["timeout"] == 120
        assert d["variables"] == {"who": "caller-sipp"}
        stats = dict(x.split(" = ") for x in k.rpc("stats.get_statistics", "dialog:"))
        assert stats["dialog:active_dialogs"] == "1" and stats["dialog:processed_dialogs"] == "1"
        assert k.rpc("dlg.dump") == k.rpc("dlg.list")
        assert caller.wait(30) == 0, k.output()[-2000:]
        assert wait_for(lambda: "DLGBYE who=caller-sipp state=5" in k.output(), 5), k.output()[-2000:]
        assert wait_for(lambda: all(d["state"] == 5 for d in k.rpc("dlg.list")), 5)
        assert "ERROR" not in k.output() and "Traceback" not in k.output(), k.output()[-3000:]
        stats = dict(x.split(" = ") for x in k.rpc("stats.get_statistics", "dialog:"))
        assert stats["dialog:active_dialogs"] == "0" and stats["dialog:early_dialogs"] == "0"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(5)
        if k is not None:
            k.stop()
