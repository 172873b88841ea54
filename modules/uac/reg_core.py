# SPDX-License-Identifier: GPL-2.0-or-later
"""Remote registrations: the records and their state machine.

Theory of operation.  One record per uacreg row lives in the shared table
"uacreg", keyed by l_uuid; "uacreg_idx" maps l_username / r_username /
auth_username to the l_uuids carrying them; "uacreg_meta" holds the few
module-wide values every process must agree on (reg_active, loaded, last
reload).  Every change to a record is one atomic `update` of its key.

Time is kept on the timer wheel's clock (monotonic seconds, `now(rt)`);
RPC output converts it to unix time.  Each record owns a generation `g`:
scheduling bumps it and arms the shared timer wheel (kind "uac.reg", key
l_uuid); an entry whose generation is old is ignored, which is how a
schedule is cancelled.  So the timer process wakes a record exactly when it
is due -- there is no pass over all records per tick -- and a worker that
receives a 200 OK arms the refresh itself.

    (state, event)                      -> action, next state
    idle|registered, timer fires        -> send REGISTER, ONGOING (attempt a+1)
    ONGOING, 401/407 (first)            -> resend with credentials, +AUTHSENT
    ONGOING, 401/407 after AUTHSENT     -> failure
    ONGOING, 2xx with our binding       -> ONLINE, refresh armed before expiry
    ONGOING, 423                        -> expires := Min-Expires (or x2), resend now
    ONGOING, other / 408 timeout        -> retry after reg_retry_interval (or
                                           Retry-After), else DISABLED
    any, disable                        -> DISABLED (schedule cancelled)

A reply carries the attempt number it answers (`data["a"]`); a reply to an
older attempt (after a reload, a refresh or a re-send) is ignored.
"""

import collections
import time

from kampy.sip import build
from kampy.sip import digest
from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri

from .params import P

DISABLED, ONGOING, ONLINE, AUTHSENT, INIT = 1, 2, 4, 8, 16

TABLE, INDEX, META = "uacreg", "uacreg_idx", "uacreg_meta"
KIND = "uac.reg"           # timer wheel kind
CALLBACK = "uac.reg"       # tm callback name
KEY_MAX = 64               # timer wheel keys (and Kamailio's l_uuid column) hold 64 bytes

# At most this many registrations are in flight (REGISTER sent, no final
# answer yet); more due ones wait in the timer process's queue.  A load of
# thousands then goes out as fast as the registrar and our workers answer,
# instead of in one burst that ends in retransmissions and timeouts.
WINDOW = 200
# An attempt with no final reply after this long is taken as timed out
# (tm reports 408 well before; this only catches a process that died).
STUCK_AFTER = 90.0

# config fields of a record (those a reload compares) and their uacreg columns
CONFIG = (
    ("lu", "l_uuid"), ("lun", "l_username"), ("ld", "l_domain"), ("run", "r_username"),
    ("rd", "r_domain"), ("rlm", "realm"), ("au", "auth_username"), ("ap", "auth_password"),
    ("ah", "auth_ha1"), ("px", "auth_proxy"), ("ex", "expires"), ("dfl", "flags"),
    ("rdly", "reg_delay"), ("ca", "contact_addr"), ("sk", "socket"), ("cu", "contact_user"),
)
CONFIG_KEYS = tuple(k for k, _ in CONFIG)
ATTRS = {"l_uuid": "", "l_username": "l", "r_username": "r", "auth_username": "a"}
_ATTR_FIELD = {"l": "lun", "r": "run", "a": "au"}


# --- clocks, tables ------------------------------------------------------------------

def now(rt) -> float:
    """Seconds on the timer wheel's clock (tests move it with LocalTimers.now_ms)."""
    return rt.now_ms() / 1000.0


def wall(rt, t) -> int:
    """Unix time of a point on the wheel's clock (0 stays 0)."""
    if not t:
        return 0
    return int(time.time() - now(rt) + t)


def table(rt):
    return rt.tables[TABLE]


def meta_get(rt, name, default=None):
    return rt.tables[META].get(name, default)


def meta_set(rt, name, value):
    rt.tables[META].put(name, value)


def active(rt) -> bool:
    return bool(meta_get(rt, "active", P.reg_active))


def log(rt, level, text):
    rt.log(level, text, "uac")


# --- the index -----------------------------------------------------------------------

def _index_keys(cfg):
    out = []
    for kind, field in _ATTR_FIELD.items():
        if cfg.get(field):
            out.append("%s:%s" % (kind, cfg[field]))
    return out


def _index_add(rt, cfg):
    idx = rt.tables[INDEX]
    uuid = cfg["lu"]
    for key in _index_keys(cfg):
        def fn(cur):
            if cur and uuid in cur:
                return idx.KEEP
            return (cur or []) + [uuid]
        if idx.update(key, fn) is idx.FULL:
            log(rt, -1, "index table full, %s not indexed under %s" % (uuid, key))


def _index_remove(rt, cfg):
    idx = rt.tables[INDEX]
    uuid = cfg["lu"]
    for key in _index_keys(cfg):
        def fn(cur):
            if not cur or uuid not in cur:
                return idx.KEEP
            rest = [u for u in cur if u != uuid]
            return rest if rest else idx.DELETE
        idx.update(key, fn)


def find(rt, attr, value) -> list:
    """l_uuids of the records whose attr equals value, oldest first.
    Raises KeyError for an attribute that is not a filter."""
    kind = ATTRS[attr]
    if not kind:
        return [value] if table(rt).get(value) is not None else []
    return list(rt.tables[INDEX].get("%s:%s" % (kind, value)) or [])


def by_user(rt, user, domain=None):
    """The first record whose l_username is user (and l_domain domain, if given)."""
    for uuid in find(rt, "l_username", user):
        rec = table(rt).get(uuid)
        if rec is not None and (domain is None or rec["ld"] == domain):
            return rec
    return None


# --- records ---------------------------------------------------------------------------

def config_of(rec) -> dict:
    return {k: rec.get(k, "" if k not in ("ex", "dfl", "rdly") else 0) for k in CONFIG_KEYS}


def new_record(rt, cfg, t) -> dict:
    rec = config_of(cfg)
    dly = rec["rdly"]
    if not dly and P.reg_random_delay > 0:
        dly = rt.random.randint(0, P.reg_random_delay)
    rec.update(fl=DISABLED if rec["dfl"] & DISABLED else 0, te=0.0, ri=t, nx=0.0, g=0, at=0,
               op="r", cid="", ft="", cs=0, ts=0.0, exc=rec["ex"], n423=0, dly=dly,
               lc=0, lr="", lt=0.0, gx=0)
    return rec


def wants_registration(rt, rec) -> bool:
    return rec["ex"] > 0 and not rec["fl"] & DISABLED and active(rt)


def add(rt, cfg, t):
    """Store a new record (cfg: CONFIG fields) with its first REGISTER armed
    at reg_init + reg_delay.  Returns "added", "exists" or "full"."""
    rec = new_record(rt, cfg, t)
    if rec["sk"] and find_socket(rt, rec["sk"]) is None:
        log(rt, -1, "record %s: socket %s is not one of ours, the default is used" % (rec["lu"], rec["sk"]))
    if wants_registration(rt, rec):
        rec["g"], rec["nx"] = 1, t + rec["dly"]
    tab = table(rt)
    if not tab.insert(rec["lu"], rec):
        if tab.get(rec["lu"]) is not None:
            return "exists"
        log(rt, -1, "no room for record %s (uacreg table full)" % rec["lu"])
        return "full"
    _index_add(rt, rec)
    if rec["nx"]:
        _arm(rt, rec["lu"], rec["g"], rec["nx"])
    return "added"


def remove(rt, uuid) -> bool:
    rec = table(rt).get(uuid)
    if rec is None:
        return False
    table(rt).delete(uuid)
    _index_remove(rt, rec)
    return True


def replace_config(rt, uuid, cfg, t):
    """Values from the DB for a record (refresh, reload).  A record that is
    registered (or registering) with the same values is left alone; any
    other starts over -- which also revives one disabled by failures."""
    old = table(rt).get(uuid)
    if old is None:
        return add(rt, cfg, t)
    live = old["fl"] & (ONLINE | ONGOING) and not old["fl"] & DISABLED
    if live and config_of(old) == config_of(cfg):
        return "same"     # registered with the same values: nothing to redo
    rec = new_record(rt, cfg, t)

    def fn(cur):
        if cur is None:
            return rec
        rec["g"] = cur["g"] + 1
        rec["at"] = cur["at"] + 1      # replies to the old attempt are ignored
        return rec
    if table(rt).update(uuid, fn) is table(rt).FULL:
        log(rt, -1, "no room to refresh record %s" % uuid)
        return "full"
    _index_remove(rt, old)
    _index_add(rt, rec)
    if wants_registration(rt, rec):
        schedule(rt, uuid, t + rec["dly"])
    return "changed"


def change(rt, uuid, fn):
    """Apply fn(rec) -> rec or None (no change) atomically; returns the new record or None."""
    out = []
    tab = table(rt)

    def step(cur):
        if cur is None:
            return tab.KEEP
        new = fn(cur)
        if new is None:
            return tab.KEEP
        out.append(new)
        return new
    tab.update(uuid, step)
    return out[0] if out else None


# --- scheduling ------------------------------------------------------------------------

def _arm(rt, uuid, gen, at):
    delay = max(0, int((at - now(rt)) * 1000))
    if not rt.timers.arm(delay, KIND, uuid, gen):
        log(rt, -1, "timer wheel full, %s waits for the next sweep" % uuid)


def schedule(rt, uuid, at, op="r") -> bool:
    """Arm the next attempt of a record (op "r" register, "u" unregister)."""
    def fn(r):
        r["g"] += 1
        r["nx"] = at
        r["op"] = op
        return r
    rec = change(rt, uuid, fn)
    if rec is None:
        return False
    _arm(rt, uuid, rec["g"], at)
    return True


def refresh_delay(rt, granted) -> float:
    """When to refresh a binding granted for `granted` s: a margin before its
    expiry (1/10 of it, 5..60 s, never more than half), minus a random share
    of up to 15 % (at most 10 min) so records registered together spread out."""
    margin = min(max(granted * 0.1, 5.0), 60.0, granted / 2.0)
    spread = min(granted * 0.15, 600.0) * rt.random.random()
    return max(granted - margin - spread, granted / 2.0, 0.5)


def unschedule(r):
    r["g"] += 1
    r["nx"] = 0.0


# --- sending -------------------------------------------------------------------------------

def contact_uri(rec) -> str:
    addr = rec["ca"] or P.reg_contact_addr
    if rec["cu"]:
        return "sip:%s@%s;line=%s" % (rec["cu"], addr, rec["lu"])
    return "sip:%s@%s" % (rec["lu"], addr)


def find_socket(rt, text):
    from kampy.script.coreparams import parse_socket
    try:
        _proto, host, port = parse_socket(text)
    except ValueError:
        return None
    for s in rt.sockets:
        if s.ip == host and s.port == port:
            return s
    return None


def send_socket(rt, rec):
    """The record's socket column, else default_socket, else the first listen."""
    for text in (rec["sk"], P.default_socket):
        if text:
            s = find_socket(rt, text)
            if s is not None:
                return s
    return rt.default_socket()


# --- the window of registrations in flight -------------------------------------------
#
# Only the timer process starts attempts (fire), so it counts them itself;
# whichever process ends one adds 1 to its own "d.<rank>" entry of the meta
# table.  In flight = started - sum of those.  The sweep re-bases the count
# on the records' ONGOING flags, so an attempt that never ends (a dead
# process, a superseded attempt) cannot shrink the window for long.

_WIN = {"started": None, "done": 0, "queue": collections.deque()}


def reset_window():
    _WIN.update(started=None, done=0)
    _WIN["queue"].clear()


def _done_total(rt):
    return sum(v for k, v in rt.tables[META].items() if isinstance(k, str) and k.startswith("d."))


def completed(rt):
    """An attempt ended (registered, failed, or 423): the window opens by one."""
    rt.tables[META].update("d.%d" % rt.rank, lambda v: (v or 0) + 1)


def _window_open(rt) -> bool:
    w = _WIN
    if w["started"] is None:
        w["done"] = _done_total(rt)
        w["started"] = w["done"]
    if w["started"] - w["done"] < WINDOW:
        return True
    w["done"] = _done_total(rt)
    return w["started"] - w["done"] < WINDOW


def drain(rt):
    """Start queued attempts while the window has room (the timer job)."""
    q = _WIN["queue"]
    while q and _window_open(rt):
        uuid, gen = q.popleft()
        _start(rt, uuid, gen)


def fire(rt, uuid, gen):
    """The timer wheel's handler: start the record's attempt if still due,
    or queue it while WINDOW attempts are in flight.  Behind a queue it
    waits its turn without asking how many ended: drain() asks, once a tick."""
    q = _WIN["queue"]
    if q or not _window_open(rt):
        q.append((uuid, gen))
        return
    _start(rt, uuid, gen)


def _start(rt, uuid, gen):
    t = now(rt)
    out = {}

    def fn(r):
        if r["g"] != gen:
            return None
        r["nx"] = 0.0
        op = r.get("op") or "r"
        if op == "r" and (r["fl"] & DISABLED or not active(rt) or r["ex"] <= 0):
            return r
        r["fl"] = (r["fl"] | INIT | ONGOING) & ~AUTHSENT
        keep = P.reg_keep_callid and r["cid"] and r["cs"] > 0 and r["cs"] < 2147483638
        if keep:
            r["cs"] += 1
        else:
            r["cid"] = build.make_call_id().decode()
            r["ft"] = build.make_tag().decode()
            r["cs"] = 10
        r["at"] += 1
        r["ts"] = t
        if not r["fl"] & ONLINE:
            r["te"] = t        # as Kamailio shows a pending record
        r["op"] = op
        out["rec"] = dict(r)
        return r
    change(rt, uuid, fn)
    rec = out.get("rec")
    if rec is not None:
        _WIN["started"] += 1
        send(rt, rec)


def send(rt, rec, auth=None):
    """Send the REGISTER of the attempt just started, or its second request
    with the credentials header `auth` (no lock held).  The second one is
    built afresh from the record, not copied from tm's first: the same
    request with CSeq+1, a new branch and the credentials last."""
    exp = 0 if rec["op"] == "u" else rec["exc"]
    aor = "sip:%s@%s" % (rec["run"], rec["rd"])
    headers = [b"Expires: %d" % exp]
    if auth is not None:
        headers.append(auth)
    try:
        tid = rt.api("tm").send_request(
            "REGISTER", "sip:%s" % rec["rd"], aor, aor, from_tag=rec["ft"], call_id=rec["cid"],
            cseq=rec["cs"], headers=headers, contact="<%s>" % contact_uri(rec),
            next_hop=rec["px"] or None, sock=send_socket(rt, rec), callback=CALLBACK,
            data={"u": rec["lu"], "a": rec["at"]})
    except Exception as e:
        log(rt, -1, "cannot send REGISTER for %s: %r" % (rec["lu"], e))
        tid = None
    if tid is None:
        failed(rt, rec["lu"], rec["at"], 500, "Cannot send REGISTER", None)


# --- replies ---------------------------------------------------------------------------------

def on_reply(rt, tid, reply, code, data):
    """tm's callback for our REGISTERs, in whichever process got the reply."""
    if code < 200 or not isinstance(data, dict):
        return
    uuid, at = data.get("u"), data.get("a")
    reason = _reason(reply, code)
    # the two common outcomes check the attempt in the same write that moves it on
    if code in (401, 407) and reply is not None:
        challenged(rt, uuid, at, reply, code, reason)
        return
    if 200 <= code < 300:
        registered(rt, uuid, at, reply, code, reason)
        return
    rec = table(rt).get(uuid)
    if rec is None or rec["at"] != at or not rec["fl"] & ONGOING:
        return
    if code == 423 and reply is not None:
        too_brief(rt, rec, reply, reason)
    else:
        failed(rt, uuid, at, code, reason, reply)


def _reason(reply, code):
    if reply is None:
        return "Request Timeout" if code == 408 else "No reply"
    return (reply.reason or b"").decode("utf-8", "replace")


def credentials_header(rec, reply, code) -> bytes:
    """Authorization (401) or Proxy-Authorization (407) answering the reply's
    challenge with the record's credentials; ValueError when it cannot."""
    name = "www-authenticate" if code == 401 else "proxy-authenticate"
    try:
        chs = reply.parsed(name) or []
    except ParseError as e:
        raise ValueError("bad %s header: %s" % (name, e)) from None
    if rec["rlm"]:
        chs = [c for c in chs if c.realm == rec["rlm"]]
        if not chs:
            raise ValueError("no challenge for realm %s" % rec["rlm"])
    if rec["ah"]:
        hexlen = len(rec["ah"])
        chs = [c for c in chs if c.supported and (32 if c.algorithm.startswith("MD5") else 64) == hexlen]
    ch = digest.pick_challenge(chs)
    if ch is None:
        raise ValueError("no supported challenge")
    creds = digest.make_credentials(ch, rec["au"], "REGISTER", "sip:%s" % rec["rd"],
                                    password=None if rec["ah"] else rec["ap"],
                                    ha1=rec["ah"] or None)
    hname = b"Authorization" if code == 401 else b"Proxy-Authorization"
    return hname + b": " + digest.format_credentials(creds).encode("utf-8", "surrogateescape")


def challenged(rt, uuid, at, reply, code, reason):
    t = now(rt)
    box = {}

    def fn(r):
        if r["at"] != at or not r["fl"] & ONGOING:
            return None
        if r["fl"] & AUTHSENT:
            box["rejected"] = True
            return None
        r["fl"] |= AUTHSENT
        r["cs"] += 1
        r["ts"] = t
        return r
    rec = change(rt, uuid, fn)
    if "rejected" in box:
        failed(rt, uuid, at, code, reason + " (credentials rejected)", reply)
        return
    if rec is None:
        return
    try:
        hdr = credentials_header(rec, reply, code)
    except ValueError as e:
        log(rt, -1, "cannot answer the challenge for %s: %s" % (uuid, e))
        failed(rt, uuid, at, code, "%s (%s)" % (reason, e), reply)
        return
    send(rt, rec, hdr)


def _hostport(addr):
    """(host, port) of a contact address "host[:port][;params]" for comparison."""
    try:
        u = parse_uri(("sip:" + addr).encode())
    except ParseError:
        return None
    return u.host.lower(), u.port or 5060


def binding(rec, reply):
    """The reply's Contact that is ours: its user is l_uuid, or its line param
    is l_uuid, or else it is the only one pointing at our contact address."""
    try:
        contacts = reply.contacts
    except ParseError:
        return None
    if contacts == "*" or not contacts:
        return None
    lu = rec["lu"].encode()
    parsed = []
    for c in contacts:
        try:
            parsed.append((c, c.uri))
        except ParseError:
            continue
    for c, u in parsed:
        if u.user == lu:
            return c
    for c, u in parsed:
        if u.param(b"line") == lu:
            return c
    mine = _hostport(rec["ca"] or P.reg_contact_addr)
    ours = [c for c, u in parsed if (u.host.lower(), u.port or 5060) == mine]
    return ours[0] if len(ours) == 1 else None


def _granted(r, reply):
    """Seconds the registrar granted us, or a text saying why none."""
    if r["op"] == "u":
        return 0
    c = binding(r, reply) if reply is not None else None
    if c is None:
        return " (no binding for us)"
    try:
        granted = c.expires
        if granted is None:
            granted = reply.expires
    except ParseError:
        granted = None
    if granted is None:
        granted = r["exc"]
    return granted if granted > 0 else " (binding expired)"


def registered(rt, uuid, at, reply, code, reason):
    t = now(rt)
    lt = time.time()
    if reply is not None:
        try:
            reply.contacts        # parsed (and cached) before the lock
        except ParseError:
            pass
    box = {}

    def fn(r):
        if r["at"] != at or not r["fl"] & ONGOING:
            return None
        granted = _granted(r, reply)
        if isinstance(granted, str):
            box["why"] = granted
            return None
        delay = refresh_delay(rt, granted) if granted else 0
        r["fl"] &= ~(ONGOING | AUTHSENT)
        r["n423"] = 0
        r["lc"], r["lr"], r["lt"], r["gx"] = code, reason, lt, granted
        if granted:
            r["fl"] |= ONLINE | INIT
            r["te"] = r["ts"] + granted
        else:
            r["fl"] = (r["fl"] & ~ONLINE) | DISABLED
            r["te"] = 0.0
        unschedule(r)
        if granted and wants_registration(rt, r):
            r["nx"] = r["ts"] + delay
            r["op"] = "r"
        return r
    new = change(rt, uuid, fn)
    if "why" in box:
        failed(rt, uuid, at, code, reason + box["why"], reply)
        return
    if new is None:
        return
    completed(rt)
    if new["nx"]:
        _arm(rt, uuid, new["g"], new["nx"])


def too_brief(rt, rec, reply, reason):
    """423: ask again at once with Min-Expires (or twice as long)."""
    uuid, at = rec["lu"], rec["at"]
    try:
        minimum = reply.parsed("min-expires")
    except ParseError:
        minimum = None
    if rec["n423"] >= 5:
        failed(rt, uuid, at, 423, reason + " (again)", reply)
        return
    t = now(rt)

    def fn(r):
        if r["at"] != at:
            return None
        r["exc"] = minimum if minimum and minimum > r["exc"] else max(r["exc"] * 2, 60)
        r["n423"] += 1
        r["fl"] &= ~(ONGOING | AUTHSENT)
        r["lc"], r["lr"], r["lt"] = 423, reason, time.time()
        unschedule(r)
        r["nx"] = t
        return r
    new = change(rt, uuid, fn)
    if new is not None:
        completed(rt)
        _arm(rt, uuid, new["g"], t)


def _retry_after(reply):
    if reply is None:
        return 0
    try:
        ra = reply.parsed("retry-after")
    except ParseError:
        return 0
    return ra.seconds if ra is not None and not isinstance(ra, bytes) else 0


def failed(rt, uuid, at, code, reason, reply):
    """The attempt failed: retry later (reg_retry_interval, or the peer's
    Retry-After when longer), or disable the record when retries are off."""
    t = now(rt)
    wait = max(P.reg_retry_interval, _retry_after(reply)) if P.reg_retry_interval else 0
    lt = time.time()

    def fn(r):
        if r["at"] != at:
            return None
        r["fl"] &= ~(ONGOING | AUTHSENT | ONLINE)
        r["cid"] = ""
        r["cs"] = 0
        r["n423"] = 0
        r["lc"], r["lr"], r["lt"] = code, reason, lt
        unschedule(r)
        if r["op"] == "u":
            r["fl"] |= DISABLED
        elif wait:
            r["te"] = t + wait
            r["nx"] = t + wait
            r["op"] = "r"
        else:
            r["fl"] |= DISABLED
        return r
    new = change(rt, uuid, fn)
    if new is None:
        return
    completed(rt)
    log(rt, -1, "registration of %s failed: %d %s%s" % (
        uuid, code, reason, "; retry in %ds" % wait if new["nx"] else "; disabled"))
    if new["nx"]:
        _arm(rt, uuid, new["g"], new["nx"])


# --- operations used by functions and RPCs ---------------------------------------------------

def enable(rt, uuid) -> bool:
    t = now(rt)

    def fn(r):
        r["fl"] &= ~DISABLED
        return r
    rec = change(rt, uuid, fn)
    if rec is None:
        return False
    if wants_registration(rt, rec) and not rec["fl"] & ONGOING:
        schedule(rt, uuid, t)
    return True


def disable(rt, uuid) -> bool:
    def fn(r):
        r["fl"] |= DISABLED
        unschedule(r)
        return r
    return change(rt, uuid, fn) is not None


def register_now(rt, uuid) -> bool:
    """Register at once, even if disabled (the record is enabled again)."""
    def fn(r):
        r["fl"] &= ~DISABLED
        return r
    rec = change(rt, uuid, fn)
    if rec is None:
        return False
    return schedule(rt, uuid, now(rt), "r")


def unregister_now(rt, uuid) -> bool:
    """REGISTER with Expires: 0 at once; the record stays disabled after it."""
    def fn(r):
        r["fl"] |= DISABLED
        return r
    rec = change(rt, uuid, fn)
    if rec is None:
        return False
    return schedule(rt, uuid, now(rt), "u")


def set_active(rt, value) -> int:
    old = 1 if active(rt) else 0
    meta_set(rt, "active", 1 if value else 0)
    if value and not old:
        start_all(rt)
    return old


def start_all(rt):
    """(Re)start every record that should register and is not registering
    (after reg_active 1); the window paces them."""
    t = now(rt)
    for uuid, rec in table(rt).items():
        if wants_registration(rt, rec) and not rec["fl"] & ONGOING:
            schedule(rt, uuid, _resume_at(rec, t))


def _resume_at(rec, t):
    """When a record with nothing armed should be sent: before its binding
    expires if it has one, else once its reg_delay has passed."""
    if rec["fl"] & ONLINE and rec["te"] > t + 5:
        return rec["te"] - min(max(rec["gx"] * 0.1, 5.0), 60.0, rec["gx"] / 2.0)
    return max(t, rec["ri"] + rec["dly"])


def sweep(rt):
    """Safety net, every reg_timer_interval: an attempt that never got an
    answer is failed, a record that should be armed but is not is re-armed."""
    t = now(rt)
    act = active(rt)
    ongoing = 0
    for uuid, rec in table(rt).items():
        fl = rec["fl"]
        if fl & ONGOING:
            if t - rec["ts"] > STUCK_AFTER:
                failed(rt, uuid, rec["at"], 408, "No final reply", None)
            else:
                ongoing += 1
            continue
        if not act or fl & DISABLED or rec["ex"] <= 0:
            continue
        if rec["nx"] and rec["nx"] < t - 5:
            _arm(rt, uuid, rec["g"], t)
        elif not rec["nx"]:
            schedule(rt, uuid, _resume_at(rec, t))
    _WIN["done"] = _done_total(rt)
    _WIN["started"] = _WIN["done"] + ongoing


# --- what functions and RPCs report --------------------------------------------------------------

def status(rt, rec) -> int:
    """uac_reg_status(): 1 registered, -2 in progress, -3 disabled, -99 waiting."""
    if rec["fl"] & ONLINE and rec["te"] > now(rt):
        return 1
    if rec["fl"] & ONGOING:
        return -2
    if rec["fl"] & DISABLED:
        return -3
    return -99


_COUNTS = {"at": None, "rt": None, "value": None}


def counts(rt):
    """(total, registered now, disabled) from the records' states; one walk
    serves the three counters of a stats call (cached for 50 ms)."""
    t = now(rt)
    c = _COUNTS
    if c["rt"] is rt and c["at"] is not None and 0 <= t - c["at"] < 0.05:
        return c["value"]
    total = on = off = 0
    for _k, rec in table(rt).items():
        total += 1
        if rec["fl"] & ONLINE and rec["te"] > t:
            on += 1
        if rec["fl"] & DISABLED:
            off += 1
    c.update(at=t, rt=rt, value=(total, on, off))
    return total, on, off
