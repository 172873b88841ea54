# SPDX-License-Identifier: GPL-2.0-or-later
"""uac_replace_from/to through the real daemon: sipp caller -> kampy -> sipp callee.

Each side checks every header it sees (sipp ereg check_it): the callee gets
the replaced From/To on INVITE, ACK and BYE; the caller gets its own back in
every reply and in the callee's BYE.
"""

import subprocess

import pytest

from harness import Kampy, SCENARIOS, free_udp_port, sipp
from toolcheck import require_tool

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "siputils.so"
loadmodule "textops.so"
LOAD_DIALOG
loadmodule "uac.so"
modparam("rr", "append_fromtag", 1)
PARAMS
request_route {
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    record_route();
    MANAGE
    uac_replace_from("Anon", "sip:anonymous@anonymous.invalid");
    uac_replace_to("sip:bob@internal.example");
    t_relay("127.0.0.1", CALLEE);
}
"""

MODES = {
    "rr": ("", "", ""),
    "rr-passwd": ("", 'modparam("uac", "restore_passwd", "s3cret")', ""),
    "dialog": ('loadmodule "dialog.so"', "", "dlg_manage();"),
    "restore_dlg": ('loadmodule "dialog.so"', 'modparam("uac", "restore_dlg", 1)', "dlg_manage();"),
}


class Sipp:
    def __init__(self, tmp_path, scenario, port, extra=()):
        exe = require_tool("sipp")
        self.proc = subprocess.Popen(
            [exe, "-i", "127.0.0.1", "-p", str(port), "-nostdin", "-timeout", "40s", "-timeout_error",
             "-sf", str(SCENARIOS / scenario), "-trace_err"] + list(extra),
            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self):
        self.proc.kill()
        return self.proc.communicate(timeout=10)[0] or ""


def _config(mode, callee_port):
    load, params, manage = MODES[mode]
    return (CFG.replace("LOAD_DIALOG", load).replace("PARAMS", params).replace("MANAGE", manage)
            .replace("CALLEE", str(callee_port)))


def _errors(tmp_path):
    return "\n".join(p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*_errors.log"))


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("who_hangs_up", ["caller", "callee"])
def test_call_with_from_and_to_replaced(tmp_path, mode, who_hangs_up):
    calls = 5
    callee_port = free_udp_port()
    callee_sf, caller_sf = (("uacft_callee.xml", "uacft_caller.xml") if who_hangs_up == "caller"
                            else ("uacft_callee_bye.xml", "uacft_caller_hungup.xml"))
    callee = Sipp(tmp_path, callee_sf, callee_port, ["-m", str(calls)])
    k = Kampy(tmp_path, _config(mode, callee_port), children=4).start()
    try:
        r = sipp(["127.0.0.1:%d" % k.port, "-sf", SCENARIOS / caller_sf, "-m", calls, "-r", 10,
                  "-i", "127.0.0.1", "-p", free_udp_port(), "-nostdin", "-timeout", "30s",
                  "-timeout_error", "-trace_err"], timeout=60, cwd=tmp_path)
        try:
            callee_rc = callee.proc.wait(30)
        except subprocess.TimeoutExpired:
            callee_rc = None
        out = callee.stop()
        assert r.returncode == 0, r.stdout[-1500:] + _errors(tmp_path) + k.output()[-2000:]
        assert callee_rc == 0, out[-1500:] + _errors(tmp_path) + k.output()[-2000:]
    finally:
        callee.proc.kill()
        k.stop()
