# SPDX-License-Identifier: GPL-2.0-or-later
"""A throw-away PostgreSQL server for tests: never a system database.

    from pg import pg_server          # session fixture: a shared running server
    url = pg_server.new_database()    # a fresh database, its postgres:// URL

    srv = PgServer.start_new()        # a private server the test may stop
    srv.stop(); srv.start(); srv.destroy()

initdb runs once per session into a template folder; each server copies it,
then `pg_ctl start` listens on 127.0.0.1 on a free port with its Unix socket
in its own folder.  PostgreSQL refuses to run as root: when the tests run as
root, every server command runs as the `postgres` user (runuser) and the
folders belong to it.  Debian keeps the binaries in /usr/lib/postgresql/N/bin.
Under CI=true a missing PostgreSQL fails the test (toolcheck.require_tool),
elsewhere it skips.
"""

import atexit
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading

import pytest

from toolcheck import IN_CI, require_tool

USER = "kampy"
PASSWORD = "kampy-Secret-pw"
SUPERUSER = "postgres"

_template = None
_template_lock = threading.Lock()
_servers = []
_names = itertools.count(1)


def free_tcp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _runas():
    """(argv prefix, uid, gid) to run PostgreSQL's programs."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        msg = "tests run as root and there is no 'postgres' user to run PostgreSQL as"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", "postgres", "--"], pw.pw_uid, pw.pw_gid


def _run(argv, cwd, timeout=60):
    prefix, _, _ = _runas()
    r = subprocess.run(prefix + argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(argv[:2]), r.returncode, r.stdout, r.stderr))
    return r


def _mkdtemp(prefix):
    """A folder directly under /dev/shm (memory: copying and starting a cluster
    there is fast) or the temp dir (pytest's tmp_path has parents other users
    cannot enter), owned by whoever runs the server."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    _, uid, gid = _runas()
    if uid is not None:
        os.chown(d, uid, gid)
    return d


def _template_dir(bindir):
    global _template
    with _template_lock:
        if _template is None:
            top = _mkdtemp("kampy-pg-template-")
            atexit.register(shutil.rmtree, top, True)
            data = os.path.join(top, "data")
            _run([os.path.join(bindir, "initdb"), "-D", data, "-U", SUPERUSER, "-E", "UTF8",
                  "--no-locale", "--no-sync", "--wal-segsize=1", "--auth-local=trust",
                  "--auth-host=scram-sha-256"],
                 cwd=top, timeout=120)
            _template = data
        return _template


class PgServer:
    """One PostgreSQL cluster in its own temp folder, on a fixed port once started."""

    def __init__(self, port=None):
        self.bindir = os.path.dirname(require_tool("postgres"))
        self.top = None
        self.port = port
        self.fixed_port = port is not None
        self.running = False

    @classmethod
    def start_new(cls, port=None):
        """A started server (on `port`, else a free one), destroyed at exit at the latest."""
        srv = cls(port)
        _servers.append(srv)
        try:
            srv.start()
        except BaseException:
            srv.destroy()
            raise
        return srv

    @property
    def data(self):
        return os.path.join(self.top, "data")

    @property
    def sockdir(self):
        return self.top

    def _tool(self, name):
        return os.path.join(self.bindir, name)

    def start(self):
        """Start (again) on the same port; the first start creates the cluster."""
        first = self.top is None
        if first:
            template = _template_dir(self.bindir)
            self.top = _mkdtemp("kampy-pg-")
            _run(["cp", "-a", template, self.data], cwd=self.top)
        for attempt in range(3):
            if self.port is None or (first and attempt and not self.fixed_port):
                self.port = free_tcp_port()
            opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40 "
                    "-c shared_buffers=16MB" % (self.port, self.sockdir))
            try:
                _run([self._tool("pg_ctl"), "-D", self.data, "-l", os.path.join(self.top, "log"),
                      "-w", "-t", "30", "-o", opts, "start"], cwd=self.top, timeout=60)
                break
            except RuntimeError:
                if not first or self.fixed_port or attempt == 2:
                    raise RuntimeError("PostgreSQL did not start:\n" + self.log_tail())
        self.running = True
        if first:
            self.admin("CREATE ROLE %s LOGIN PASSWORD '%s'" % (USER, PASSWORD))
        return self

    def stop(self, mode="fast"):
        """Stop the server; `fast` ends the sessions, as an admin's restart does."""
        if self.running:
            self.running = False
            _run([self._tool("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "30", "stop"],
                 cwd=self.top, timeout=60)

    def destroy(self):
        try:
            if self.running:
                self.stop("immediate")
        finally:
            if self.top:
                shutil.rmtree(self.top, ignore_errors=True)
                self.top = None

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.top, "log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def connect(self, dbname="postgres", user=SUPERUSER):
        """A psycopg connection over the Unix socket (autocommit; trusted, no password)."""
        import psycopg
        return psycopg.connect(host=self.sockdir, port=self.port, user=user, dbname=dbname,
                               autocommit=True, connect_timeout=10)

    def admin(self, sql, dbname="postgres"):
        """Run one SQL statement as the superuser; its rows, if any."""
        with self.connect(dbname) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else None

    def new_database(self, name=None) -> str:
        """A fresh database owned by the test user; its URL (with password)."""
        name = name or "kampy_t%d_%d" % (os.getpid(), next(_names))
        self.admin("CREATE DATABASE %s OWNER %s" % (name, USER))
        return self.url(name)

    def url(self, dbname, scheme="postgres"):
        return "%s://%s:%s@127.0.0.1:%d/%s" % (scheme, USER, PASSWORD, self.port, dbname)


@atexit.register
def _stop_all():
    for srv in _servers:
        try:
            srv.destroy()
        except Exception:
            pass


_shared = None


def shared_server() -> PgServer:
    """The server shared by every test module of the session (stopped at exit)."""
    global _shared
    if _shared is None or not _shared.running:
        _shared = PgServer.start_new()
    return _shared


@pytest.fixture(scope="session")
def pg_server():
    """A running server shared by the whole session: make databases, do not stop it."""
    return shared_server()
