# SPDX-License-Identifier: GPL-2.0-or-later
"""`kampy`: the command line, with Kamailio's flags.

    kampy -f FILE [-c] [-D[D]] [-E] [-n N] [-l ADDR]... [-m MB] [-P PIDFILE]
          [-A NAME[=VAL]]... [-L DIR] [-V] [-h] [--dump-compiled]
"""

import os
import platform
import sys

from . import __version__

USAGE = """usage: kampy [options]
  -f FILE        config file (default: etc/kampy.cfg in a checkout, else /etc/kampy/kampy.cfg)
  -c             check the config and exit (0 when it is good)
  --dump-compiled  with -c: print the Python code the config compiles to
  -D             stay in the foreground (all processes still fork); -DD is the same
  -E             log to stderr
  -n N           number of UDP receiver processes per listen socket (children)
  -l ADDR        listen on [proto:]addr[:port] (repeatable; replaces the config's listen)
  -m MB          shared memory size in MB
  -P FILE        write the supervisor's pid to FILE
  -A NAME[=VAL]  define NAME for the preprocessor (VAL is config text: -A 'X="str"')
  -L DIR         module path (added to mpath)
  -V             print version and build details
  -h             this help
"""


class Options:
    def __init__(self):
        self.config = None
        self.check = False
        self.dump = False
        self.foreground = 0
        self.stderr = False
        self.children = None
        self.listen = []
        self.shm_mb = None
        self.pidfile = None
        self.defines = {}
        self.mpath = []
        self.version = False
        self.help = False


class UsageError(Exception):
    pass


def parse_args(argv) -> Options:
    """Kamailio-style short options: flags may be grouped (-DD, -cE)."""
    o = Options()
    takes_value = set("fnlmPAL")
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--dump-compiled":
            o.dump = True
            continue
        if a in ("--help",):
            o.help = True
            continue
        if a == "--version":
            o.version = True
            continue
        if not a.startswith("-") or a == "-":
            raise UsageError("unexpected argument %r" % a)
        j = 1
        while j < len(a):
            c = a[j]
            j += 1
            if c in takes_value:
                if j < len(a):
                    val = a[j:]
                else:
                    if i >= len(argv):
                        raise UsageError("option -%s needs a value" % c)
                    val = argv[i]
                    i += 1
                _apply(o, c, val)
                break
            if c == "c":
                o.check = True
            elif c == "D":
                o.foreground += 1
            elif c == "E":
                o.stderr = True
            elif c == "V":
                o.version = True
            elif c == "h":
                o.help = True
            else:
                raise UsageError("unknown option -%s" % c)
    return o


def _apply(o, c, val):
    if c == "f":
        o.config = val
    elif c == "n":
        try:
            o.children = int(val)
        except ValueError:
            raise UsageError("-n takes a number") from None
    elif c == "l":
        o.listen.append(val)
    elif c == "m":
        try:
            o.shm_mb = int(val)
        except ValueError:
            raise UsageError("-m takes a number of MB") from None
    elif c == "P":
        o.pidfile = val
    elif c == "A":
        name, eq, value = val.partition("=")
        o.defines[name] = value if eq else None
    elif c == "L":
        o.mpath.append(val)


def default_config() -> str:
    here = os.path.join(os.getcwd(), "etc", "kampy.cfg")
    return here if os.path.isfile(here) else "/etc/kampy/kampy.cfg"


def version_text() -> str:
    return ("kampy %s (Python %s %s, %s)\n"
            "flags: UDP, shared memory arena, JSON-RPC ctl, config compiler\n"
            % (__version__, platform.python_implementation(), platform.python_version(),
               platform.machine()))


def compile_from_options(o):
    from .script.compiler import compile_config
    return compile_config(o.config, o.defines, o.mpath)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        o = parse_args(argv)
    except UsageError as e:
        sys.stderr.write("kampy: %s\n%s" % (e, USAGE))
        return 2
    if o.help:
        sys.stdout.write(USAGE)
        return 0
    if o.version:
        sys.stdout.write(version_text())
        return 0
    o.config = o.config or default_config()
    from .script.ast import ConfigErrors
    if not os.path.isfile(o.config):
        sys.stderr.write("kampy: cannot read config file %s\n" % o.config)
        return 1
    try:
        script = compile_from_options(o)
    except ConfigErrors as e:
        for err in e.errors:
            sys.stderr.write("%s\n" % err)
        sys.stderr.write("kampy: %d error%s in %s\n" % (len(e.errors), "" if len(e.errors) == 1 else "s", o.config))
        return 1
    if o.check:
        if o.dump:
            sys.stdout.write(script.source)
        else:
            sys.stderr.write("kampy: config file %s is valid\n" % o.config)
        return 0
    try:
        from .daemon import run
    except ImportError:
        sys.stderr.write("kampy: the daemon is not part of this build yet; use -c to check a config\n")
        return 1
    return run(script, o)


if __name__ == "__main__":
    sys.exit(main())
