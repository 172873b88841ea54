# SPDX-License-Identifier: GPL-2.0-or-later
"""Logging set-up: stderr with -E / log_stderror=yes, else syslog.

The runtime formats each line as Kamailio does (` 2(15260) NOTICE: <script>:
text`); here we only pick where lines go.  The level filter is `debug=` and
is applied before formatting, so disabled levels cost one comparison.
"""

import logging
import logging.handlers
import os
import sys

_FACILITIES = {name: getattr(logging.handlers.SysLogHandler, name, None) for name in (
    "LOG_DAEMON", "LOG_LOCAL0", "LOG_LOCAL1", "LOG_LOCAL2", "LOG_LOCAL3", "LOG_LOCAL4",
    "LOG_LOCAL5", "LOG_LOCAL6", "LOG_LOCAL7", "LOG_USER")}


def setup(params, stderr=False):
    logger = logging.getLogger("kampy")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    if stderr or not os.path.exists("/dev/log"):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(message)s"))
    else:
        fac = _FACILITIES.get(str(params.get("log_facility", "LOG_DAEMON")).upper()) \
            or logging.handlers.SysLogHandler.LOG_DAEMON
        h = logging.handlers.SysLogHandler(address="/dev/log", facility=fac)
        name = params.get("log_name") or "kampy"
        h.setFormatter(logging.Formatter(name + "[%(process)d]:%(message)s"))
    logger.addHandler(h)
    for sub in ("kampy.shm", "kampy.rpc"):
        logging.getLogger(sub).propagate = True
    return logger
