# SPDX-License-Identifier: GPL-2.0-or-later
"""µs per run of a 30-statement request_route, compiled once (median).

Run: python -m tools.bench.bench_script   (prints; asserts nothing)
"""

import statistics
import sys
import time

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse

from .bench_parse import INVITE

CFG = r'''
listen=udp:127.0.0.1:5060
loadmodule "sl.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "siputils.so"
debug=1

request_route {
    $var(count) = 0;
    if ($rm == "INVITE") { $var(count) = $var(count) + 1; }
    if ($rm == "REGISTER") { $var(count) = $var(count) + 2; }
    if ($rU == "bob") { $var(user) = $rU; } else { $var(user) = "other"; }
    if ($rU =~ "^\+?[0-9]+$") { $var(e164) = 1; } else { $var(e164) = 0; }
    $avp(caller) = $fU;
    $avp(callee) = $rU;
    $var(dom) = $fd;
    if ($var(count) > 0 && $var(e164) == 0) { $var(flag) = 1; }
    xdbg("call from $fU@$fd to $rU\n");
    append_hf("X-Caller: $avp(caller)\r\n");
    if (is_method("INVITE|MESSAGE")) { $var(m) = 1; }
    if (has_totag()) { $var(indialog) = 1; } else { $var(indialog) = 0; }
    xdbg("callee=$avp(callee) dom=$var(dom)\n");
    $var(a) = 1;
    $var(b) = $var(a) + 2;
    $var(c) = $var(b) * 3;
    $var(s) = "sip:" + $rU + "@" + $var(dom);
    if ($var(c) == 9) { $var(d) = "nine"; }
    if (!defined $avp(none)) { $var(e) = 1; }
    $avp(last) = $ci;
}
'''


def main():
    script = compile_text(CFG, "bench.cfg")
    rt = Runtime(script)
    msg = parse(INVITE)
    loops, repeat = 2000, 15

    def once():
        msg._edits = None   # the same parsed message each run, without last run's edits
        rt.run_request(rt.new_context(msg))

    def once_ctx_only():
        rt.new_context(msg)

    for _ in range(loops):
        once()
    runs = []
    base = []
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(loops):
            once()
        runs.append((time.process_time() - t0) / loops * 1e6)
        t0 = time.process_time()
        for _ in range(loops):
            once_ctx_only()
        base.append((time.process_time() - t0) / loops * 1e6)
    med = statistics.median(runs)
    print("kampy config bench: 30-statement request_route, Python %s" % sys.version.split()[0])
    print("run of request_route (incl. context): median %.2f us (min %.2f, max %.2f)  target <= 10 us"
          % (med, min(runs), max(runs)))
    print("  of which creating the context:      median %.2f us" % statistics.median(base))


if __name__ == "__main__":
    main()
