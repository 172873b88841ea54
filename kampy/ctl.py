# SPDX-License-Identifier: GPL-2.0-or-later
"""`kampyctl`: send one JSON-RPC 2.0 request to kampy's control socket and
print the answer the way kamcmd does.

    kampyctl [-s unix:/path | -s /path] [-t SECONDS] [--json] METHOD [ARGS...]

Arguments are typed like kamcmd's: a decimal integer (`5`, `-3`) is sent as
an int, `s:123` forces the string "123", `i:5` an int, `d:1.5` a float;
anything else is a string.  (kamcmd would send `1.5` as a double; here it is
the string "1.5" unless written `d:1.5`.)

Text output, as kamcmd prints a reply (KAMAILIO-FACTS.md):
- a struct is `{`, one `key: value` line per member one tab deeper, `}`;
- an array's items are printed one after the other (top level), so an array
  of structs prints the structs in turn;
- a struct or array inside a struct is opened on the member's line
  (`\tcaller: {`, members one tab deeper, `\t}`).  For a nested array kamcmd
  indents the opening line and the items one tab deeper than the member and
  closes with `]` at the member's depth; we print the same;
- a scalar alone on its line; ints as decimals, floats as `%f`, booleans as
  1/0 (Kamailio's RPC has no booleans); an empty string or a null inside a
  reply prints `<null string>`; a void reply (null) prints nothing;
- a fault prints `error: CODE - MESSAGE` on stdout; kampyctl then exits 1
  (kamcmd exits 0).

Exit codes: 0 success, 1 the method failed (fault), 2 usage error or no
usable answer (no daemon on the socket, timeout, bad reply).

`kampyctl db ...` (METHOD `db`, which no RPC method is: those are
`module.verb`) works on the database directly, without a daemon: see
kampy/db/cli.py.
"""

import json
import math
import os
import re
import socket
import sys
import time

DEFAULT_SOCKET = "/tmp/kampy_ctl"
ENV_SOCKET = "KAMPY_CTL"
DEFAULT_TIMEOUT = 10.0
MAX_REPLY = 16 << 20
NULL_STRING = "<null string>"

USAGE = """usage: kampyctl [-s unix:/path | -s /path] [-t SECONDS] [--json] METHOD [ARGS...]
  -s SOCKET   control socket (default: $KAMPY_CTL, else unix:%s)
  -t SECONDS  how long to wait for the reply (default %g)
  --json      print the raw JSON result (or error) instead of kamcmd's text
  -h, --help  this help
Arguments: 5 and -3 are ints, s:123 is the string "123", i:5 an int,
d:1.5 a float; anything else is a string.
Examples: kampyctl core.psx; kampyctl stats.get_statistics sl:; kampyctl cnt.get sl 200_replies
Database (no daemon needed): kampyctl db create URL; kampyctl db uacreg add|rm|list ...;
  kampyctl db -h
""" % (DEFAULT_SOCKET, DEFAULT_TIMEOUT)

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


class UsageError(Exception):
    pass


class CtlError(Exception):
    """No usable answer: cannot connect, timeout, reply too large or not JSON-RPC."""


# --- the command line ---------------------------------------------------------------------

def parse_socket(spec: str) -> str:
    """`unix:/path` or a path -> the path; other transports are not supported."""
    if spec.startswith("unix:"):
        spec = spec[5:]
    elif re.match(r"(unixs|unixd|udp|tcp):", spec):
        raise UsageError("only unix sockets are supported, not %r" % spec)
    if not spec:
        raise UsageError("empty socket path")
    return spec


def parse_arg(text: str):
    """One command-line argument -> the JSON value sent for it."""
    if text.startswith("s:"):
        return text[2:]
    if text.startswith("i:"):
        if not _INT_RE.match(text[2:]):
            raise UsageError("bad integer argument %r" % text)
        return int(text[2:])
    if text.startswith("d:"):
        try:
            value = float(text[2:])
        except ValueError:
            raise UsageError("bad float argument %r" % text) from None
        if not math.isfinite(value):
            raise UsageError("bad float argument %r" % text)
        return value
    if _INT_RE.match(text):
        return int(text)
    return text


class Options:
    def __init__(self):
        self.socket = None
        self.timeout = DEFAULT_TIMEOUT
        self.json = False
        self.help = False
        self.method = None
        self.params = []
        self.args = []      # the arguments after METHOD, as typed


def parse_cmdline(argv) -> Options:
    """Options come before METHOD; everything after METHOD is an argument."""
    o = Options()
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a in ("-h", "--help"):
            o.help = True
            return o
        if a == "--json":
            o.json = True
        elif a == "--":
            break
        elif a[:2] in ("-s", "-t"):
            value = a[2:]
            if not value:
                if i >= len(argv):
                    raise UsageError("option %s needs a value" % a)
                value = argv[i]
                i += 1
            if a[:2] == "-s":
                o.socket = parse_socket(value)
            else:
                try:
                    o.timeout = float(value)
                except ValueError:
                    o.timeout = 0.0
                if not (o.timeout > 0 and math.isfinite(o.timeout)):
                    raise UsageError("bad timeout %r (seconds, > 0)" % value)
        elif a.startswith("-") and len(a) > 1:
            raise UsageError("unknown option %s" % a)
        else:
            i -= 1
            break
    if o.socket is None:
        o.socket = parse_socket(os.environ.get(ENV_SOCKET) or DEFAULT_SOCKET)
    if i >= len(argv):
        raise UsageError("no method given")
    o.method = argv[i]
    o.args = list(argv[i + 1:])
    if o.method != "db":
        o.params = [parse_arg(a) for a in o.args]
    return o


# --- the request --------------------------------------------------------------------------

def build_request(method: str, params, rid=1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params),
                       "id": rid}).encode("utf-8") + b"\n"


def call(path: str, method: str, params, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Send one request, return the response object (with "result" or "error").
    Raises CtlError when there is no usable answer."""
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except socket.timeout:
            raise CtlError("timeout connecting to unix:%s (is kampy running?)" % path) from None
        except OSError as e:
            raise CtlError("cannot connect to unix:%s: %s (is kampy running?)"
                           % (path, e.strerror or e)) from None
        try:
            sock.sendall(build_request(method, params))
            data = _read_reply(sock, deadline)
        except socket.timeout:
            raise CtlError("no reply from unix:%s within %g s" % (path, timeout)) from None
        except OSError as e:
            raise CtlError("connection to unix:%s failed: %s" % (path, e.strerror or e)) from None
    finally:
        sock.close()
    try:
        resp = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise CtlError("bad reply from unix:%s: not JSON" % path) from None
    if not isinstance(resp, dict) or ("result" not in resp and "error" not in resp):
        raise CtlError("bad reply from unix:%s: not a JSON-RPC response" % path)
    return resp


def _read_reply(sock, deadline) -> bytes:
    """Bytes up to the first newline (or the end of the stream)."""
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        chunk = sock.recv(1 << 16)
        if not chunk:
            if not buf.strip():
                raise CtlError("the connection was closed without a reply")
            return bytes(buf)
        nl = chunk.find(b"\n")
        if nl >= 0:
            buf += chunk[:nl]
        else:
            buf += chunk
        if len(buf) > MAX_REPLY:
            raise CtlError("reply larger than %d MiB" % (MAX_REPLY >> 20))
        if nl >= 0:
            return bytes(buf)


# --- output -------------------------------------------------------------------------------

def _scalar(value) -> str:
    if value is None or value == "":
        return NULL_STRING
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "%f" % value
    return str(value)


def _emit(lines, value, depth, name=None):
    lead = "\t" * depth
    label = "" if name is None else "%s: " % name
    if isinstance(value, dict):
        lines.append(lead + label + "{")
        for k, v in value.items():
            _emit(lines, v, depth + 1, k)
        lines.append(lead + "}")
    elif isinstance(value, list):
        lines.append(lead + "\t" + label + "[")
        for v in value:
            _emit(lines, v, depth + 1)
        lines.append(lead + "]")
    else:
        lines.append(lead + label + _scalar(value))


def format_text(result) -> str:
    """A result as kamcmd prints it (see the module doc); "" for a void result."""
    if result is None:
        return ""
    lines = []
    for item in (result if isinstance(result, list) else [result]):
        _emit(lines, item, 0)
    return "".join(line + "\n" for line in lines)


def format_fault(error) -> str:
    if isinstance(error, dict):
        return "error: %s - %s\n" % (error.get("code"), error.get("message"))
    return "error: %s\n" % (error,)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        o = parse_cmdline(argv)
    except UsageError as e:
        sys.stderr.write("kampyctl: %s\n%s" % (e, USAGE))
        return 2
    if o.help:
        sys.stdout.write(USAGE)
        return 0
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    if o.method == "db":
        from .db.cli import main as db_main
        return db_main(o.args)
    try:
        resp = call(o.socket, o.method, o.params, o.timeout)
    except CtlError as e:
        sys.stderr.write("kampyctl: %s\n" % e)
        return 2
    failed = "error" in resp
    if o.json:
        out = json.dumps(resp["error"] if failed else resp["result"], indent=2,
                         ensure_ascii=False) + "\n"
    else:
        out = format_fault(resp["error"]) if failed else format_text(resp["result"])
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:        # `kampyctl ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
