# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario s2u: s2 plus uac_replace_from() in auto (Record-Route) mode, so
every reply and every in-dialog request goes through uac's restore.

Run: python -m tools.bench.s2u [--duration 10] [--children 2]   (prints; asserts nothing)
"""

from . import s2

CFG = s2.CFG.replace('loadmodule "textops.so"\n', 'loadmodule "textops.so"\nloadmodule "uac.so"\n').replace(
    'if (is_method("INVITE")) { record_route(); }',
    'if (is_method("INVITE")) { record_route(); uac_replace_from("sip:anonymous@anonymous.invalid"); }')
assert CFG != s2.CFG and "uac_replace_from" in CFG

if __name__ == "__main__":
    s2.main(CFG, "s2u")
