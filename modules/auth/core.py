# SPDX-License-Identifier: GPL-2.0-or-later
"""auth: the per-runtime state (keys, clock, shared tracker) and the two
halves every backend shares: building a challenge and checking an answer.

Backends (auth_db, the pv_* functions) call `authenticate()` with a function
that finds the HA1 of the credentials' user; everything else — finding the
credentials of the realm, the nonce checks, the response, nonce counts,
marking the credentials for consume_credentials() and $au — happens here,
once, in Kamailio's order and with its return codes.
"""

import hmac
import os
import time

from kampy.sip import digest
from kampy.sip.errors import ParseError
from kampy.script.pv import b2s

from . import nonce as N
from .params import P, avp_key, nc_size, otn_size

# Kamailio's return codes to the config
AUTH_OK = 1
AUTH_ERROR = -1
AUTH_INVALID_PASSWORD = -2
AUTH_USER_UNKNOWN = -3
AUTH_STALE_NONCE = -4
AUTH_NO_CREDENTIALS = -5
AUTH_NONCE_REUSED = -6
AUTH_USER_MISMATCH = -8

_NONCE_RC = {N.INVALID: AUTH_ERROR, N.STALE: AUTH_STALE_NONCE, N.REUSED: AUTH_NONCE_REUSED}
_HEX_LEN = {"MD5": 32, "SHA-256": 64}
_NO_AUTH = ("ACK", "CANCEL", "PRACK")
WWW, PROXY = "authorization", "proxy-authorization"
REASONS = {401: "Unauthorized", 407: "Proxy Authentication Required"}


def log(rt, level, text):
    rt.log(level, text, "auth")


def split_username(name):
    """("user", "domain") of a digest username; domain "" without '@'."""
    user, _, dom = (name or "").partition("@")
    return user, dom


class Auth:
    """What rt.api("auth") returns; made in mod_init (before the fork), so
    every process shares the keys and the start time."""

    def __init__(self, rt):
        self.rt = rt
        secret = P.secret
        if secret is None or secret == "":
            secret = os.urandom(32)
        self.keys = N.derive_keys(secret)
        self.expire = P.nonce_expire
        self.drift = P.nonce_auth_max_drift
        self.up_since = rt.start_time
        self.clock = time.time
        self.otn = bool(P.one_time_nonce)
        self.nc = bool(P.nonce_count)
        if self.nc and not P.qop:
            log(rt, 0, "nonce_count needs qop set; nonce counting disabled")
            self.nc = False
        self.pools = 1 << (P.nid_pool_no.bit_length() - 1)
        self.nc_size = nc_size() if self.nc else 0
        self.otn_size = otn_size() if self.otn else 0
        self.checks = (P.auth_checks_register, P.auth_checks_in_dlg, P.auth_checks_no_dlg)
        self.algorithm = P.algorithm or ""
        self.www_hdr = P.www_challenge_header
        self.proxy_hdr = P.proxy_challenge_header
        self.challenge_avp = avp_key(P.challenge_attr)
        self.realm_prefix = P.realm_prefix
        self.use_domain = bool(P.use_domain)
        self.stateless = bool(P.force_stateless_reply)
        self.authinfo = bool(P.add_authinfo_hdr)
        self._tracker = None
        self._funcs = {}

    # --- shared state ---------------------------------------------------------------
    @property
    def tracker(self):
        """The nid/nc/one-time tracker over this process's view of the shared
        table (the daemon swaps the table in after mod_init)."""
        table = self.rt.tables.get("auth")
        t = self._tracker
        if t is None or t.t is not table:
            t = self._tracker = N.Tracker(table, self.pools, self.nc_size, self.otn_size)
        return t

    # --- per message --------------------------------------------------------------------
    def alg(self, ctx) -> str:
        """The hash of this message: auth_algorithm() or the parameter."""
        return ctx.data.get("auth.alg") or self.algorithm or "MD5"

    def shown_alg(self, ctx):
        """The algorithm printed in challenges (none for the MD5 default)."""
        return ctx.data.get("auth.alg") or self.algorithm or None

    def strip_realm(self, realm: str) -> str:
        p = self.realm_prefix
        if p and realm.startswith(p):
            return realm[len(p):]
        return realm

    def realm(self, ctx, realm) -> str:
        """The realm to use: the given one, or (empty) the To domain of a
        REGISTER and the From domain of anything else; realm_prefix stripped."""
        realm = realm or ""
        if not realm:
            msg = ctx.msg
            try:
                na = msg.to if msg.method == "REGISTER" else msg.from_
                if na is not None:
                    realm = b2s(na.uri.host) or ""
            except (ParseError, AttributeError):
                realm = ""
        return self.strip_realm(realm)

    def checks_cfg(self, msg) -> int:
        if msg is None:
            return 0
        if msg.method == "REGISTER":
            return self.checks[0]
        return self.checks[1] if msg.to_tag is not None else self.checks[2]

    @staticmethod
    def parts(ctx, cfg):
        """The message parts a nonce is bound to (auth_checks_* bits), or None."""
        if not cfg:
            return None
        msg = ctx.msg
        out = []
        if cfg & 1:
            out.append(msg.ruri or b"")
        if cfg & 2:
            out.append(msg.call_id or b"")
        if cfg & 4:
            out.append(msg.from_tag or b"")
        if cfg & 8:
            out.append(ctx.src_ip.encode())
        return out

    # --- challenges -------------------------------------------------------------------
    def new_nonce(self, ctx, bind=True):
        """A fresh nonce, registered for nonce_count / one_time_nonce; None
        when the shared table refuses it."""
        nid = pool = flags = 0
        if self.nc or self.otn:
            tr = self.tracker
            pool = abs(self.rt.rank) % self.pools
            nid = tr.new_nid(pool)
            if nid is None:
                log(self.rt, -1, "no room for a new nonce id (shared memory full)")
                return None
            if self.nc:
                if not tr.nc_new(nid, pool):
                    return None
                flags |= N.F_NC
            if self.otn:
                if not tr.otn_new(nid, pool):
                    return None
                flags |= N.F_OTN
        parts = self.parts(ctx, self.checks_cfg(ctx.msg)) if bind and ctx is not None else None
        return N.make(self.keys, int(self.clock()), self.expire, nid, pool, flags,
                      self.rt.random.getrandbits(32), parts)

    def challenge_value(self, ctx, realm, qop=None, stale=False, bind=True):
        """`Digest realm=.., nonce=..[, qop=..][, stale=true][, algorithm=..]`,
        in Kamailio's order; None when no nonce could be made."""
        n = self.new_nonce(ctx, bind)
        if n is None:
            return None
        out = "Digest realm=\"%s\", nonce=\"%s\"" % (_escape(realm), n)
        if qop:
            out += ", qop=\"%s\"" % qop
        if stale:
            out += ", stale=true"
        alg = self.shown_alg(ctx) if ctx is not None else self.algorithm or None
        if alg:
            out += ", algorithm=" + alg
        return out

    def challenge_header(self, ctx, realm, www, qop=None, stale=False, bind=True):
        """The whole header line (no CRLF), or None."""
        v = self.challenge_value(ctx, realm, qop, stale, bind)
        if v is None:
            return None
        return "%s: %s" % (self.www_hdr if www else self.proxy_hdr, v)

    def send_reply(self, ctx, code, reason, header=None) -> bool:
        """Statefully when a transaction exists (and force_stateless_reply is
        off), else with sl — through their exported functions."""
        if header is not None:
            ctx.data.setdefault("reply_headers", []).append(header)
        rt = self.rt
        fn = None
        if not self.stateless and ctx.t is not None and "tm" in rt.modules:
            fn = self._func("tm", "t_reply")
        if fn is None:
            fn = self._func("sl", "sl_send_reply")
        if fn is None:
            log(rt, -1, "cannot send %d: module sl is not loaded" % code)
            return False
        return fn(ctx, code, reason) > 0

    def _func(self, mod, name):
        key = (mod, name)
        if key not in self._funcs:
            m = self.rt.modules.get(mod)
            self._funcs[key] = next((f.fn for f in (m.functions if m else ()) if f.name == name), None)
        return self._funcs[key]

    def challenge(self, ctx, realm, flags, www) -> int:
        """www_challenge / proxy_challenge: send 401 / 407 with a fresh nonce."""
        qop = "auth-int" if flags & 2 else ("auth" if flags & 1 else None)
        stale = bool(flags & 16) or bool(ctx.data.get("auth.stale"))
        realm = self.realm(ctx, realm)
        if not realm:
            log(self.rt, -1, "empty realm and no domain in the request")
            rc = -1
        else:
            hdr = self.challenge_header(ctx, realm, www, qop, stale)
            if hdr is not None:
                code = 401 if www else 407
                return 1 if self.send_reply(ctx, code, REASONS[code], hdr) else -3
            rc = -2
        if not flags & 4 and not self.send_reply(ctx, 500, "Internal Server Error"):
            return -4
        return rc

    # --- checking an answer ------------------------------------------------------------
    def find_credentials(self, msg, realm, hname):
        """(header position, Credentials) of the first Digest credentials of
        that realm, None without; raises ParseError for a malformed one."""
        want = realm.lower()
        for pos, value in zip(msg.positions(hname), msg.headers(hname)):
            creds = digest.parse_credentials(value)
            if creds.scheme.lower() != "digest":
                continue
            if (creds.realm or "").lower() == want:
                return pos, creds
        return None

    def _track(self, d, creds, commit) -> int:
        """nonce_count / one_time_nonce; with commit the use is recorded."""
        if self.nc and d.flags & N.F_NC and creds.nc:
            nc = _nc_value(creds.nc)
            if nc is None:
                return N.INVALID
            return self.tracker.nc_check(d.nid, d.pool, nc, commit)
        if self.otn:
            if not d.flags & N.F_OTN:
                return N.STALE
            return self.tracker.otn_check(d.nid, d.pool, commit)
        return N.VALID

    def check_nonce(self, ctx, creds):
        """(nonce.VALID / INVALID / STALE / REUSED, the Decoded nonce); nothing
        is recorded yet."""
        d = N.decode(self.keys, creds.nonce)
        if d is None:
            return N.INVALID, None
        now = int(self.clock())
        if not N.since_ok(d, now, self.up_since, self.drift):
            return N.STALE, d
        r = self._track(d, creds, False)
        if r != N.VALID:
            return r, d
        if not (self.nc and d.flags & N.F_NC and creds.nc):
            if not N.check_parts(self.keys, d, self.parts(ctx, self.checks_cfg(ctx.msg))):
                return N.STALE, d
        if N.expired(d, now):
            return N.STALE, d
        return N.VALID, d

    def authenticate(self, ctx, realm, www, ha1_fn, method=None, flags=0) -> int:
        """Check the credentials of `realm` in Authorization (www) or
        Proxy-Authorization.  ha1_fn(creds, realm) returns the user's HA1 (a
        str) or a negative code (-3 unknown user, -1 error).  flags as
        pv_www_authenticate's: 1 is up to ha1_fn; 2/4/8 put a challenge (no
        qop / auth / auth-int) in the challenge AVP on failure; 16 stale."""
        msg = ctx.msg
        if not msg.is_request:
            return AUTH_ERROR
        if msg.method in _NO_AUTH:
            return AUTH_OK
        realm = self.realm(ctx, realm)
        rc = self._authenticate(ctx, realm, www, ha1_fn, method or msg.method)
        if rc < 0 and flags & 14:
            qop = "auth-int" if flags & 8 else ("auth" if flags & 4 else None)
            stale = bool(flags & 16) or bool(ctx.data.get("auth.stale"))
            hdr = self.challenge_header(ctx, realm, www, qop, stale)
            if hdr is None:
                return AUTH_ERROR
            ctx.avps.add(self.challenge_avp, hdr + "\r\n")
        return rc

    def _authenticate(self, ctx, realm, www, ha1_fn, method) -> int:
        rt = self.rt
        hname = WWW if www else PROXY
        try:
            found = self.find_credentials(ctx.msg, realm, hname)
        except ParseError as e:
            log(rt, 2, "malformed credentials: %s" % e)
            return AUTH_ERROR
        if found is None:
            return AUTH_NO_CREDENTIALS
        pos, creds = found
        ctx.data["auth.cred"] = (hname, pos, creds)
        if not _well_formed(creds):
            return AUTH_ERROR
        r, d = self.check_nonce(ctx, creds)
        if r != N.VALID:
            if r == N.STALE:
                ctx.data["auth.stale"] = True
            return _NONCE_RC[r]
        ha1 = ha1_fn(creds, realm)
        if not isinstance(ha1, str):
            return ha1
        alg = self.alg(ctx)
        if len(creds.response) != _HEX_LEN[alg]:
            return AUTH_ERROR
        try:
            expected = digest.response(alg, ha1, creds.nonce, method, creds.uri, creds.qop,
                                       creds.nc, creds.cnonce, ctx.msg.body)
        except (ValueError, KeyError) as e:
            log(rt, 2, "cannot compute the response: %s" % e)
            return AUTH_ERROR
        if not hmac.compare_digest(expected.encode(), creds.response.lower().encode("utf-8", "replace")):
            return AUTH_INVALID_PASSWORD
        r = self._track(d, creds, True)
        if r != N.VALID:
            if r == N.STALE:
                ctx.data["auth.stale"] = True
            return _NONCE_RC[r]
        ctx.data["auth.ok"] = True
        if self.authinfo:
            self._authinfo(ctx, creds, alg, ha1)
        return AUTH_OK

    def _authinfo(self, ctx, creds, alg, ha1):
        """Authentication-Info for the reply (RFC 2617 §3.2.3): rspauth proves
        we know the secret too; nextnonce is a fresh nonce with one_time_nonce."""
        nxt = self.new_nonce(ctx) if self.otn else creds.nonce
        if nxt is None:
            return
        rsp = digest.response(alg, ha1, creds.nonce, "", creds.uri, creds.qop, creds.nc,
                              creds.cnonce, ctx.msg.body)
        hdr = "Authentication-Info: nextnonce=\"%s\"" % nxt
        if creds.qop:
            hdr += ", qop=%s" % creds.qop
        hdr += ", rspauth=\"%s\"" % rsp
        if creds.qop:
            hdr += ", cnonce=\"%s\", nc=%s" % (_escape(creds.cnonce or ""), creds.nc)
        ctx.data.setdefault("reply_headers", []).append(hdr)

    def calc_ha1(self, ctx, username, realm, password) -> str:
        return digest.ha1(self.alg(ctx), username, realm, password)

    def check_identity(self, ctx, checks, use_domain) -> int:
        """auth_check()'s flag 1: the auth user must be the From user (To
        and From for REGISTER and PUBLISH, and R-URI for PUBLISH); flag 2
        skips it for INVITE, BYE, PRACK, UPDATE and MESSAGE."""
        if not checks & 1:
            return AUTH_OK
        msg = ctx.msg
        cred = ctx.data.get("auth.cred")
        if cred is None:
            return AUTH_OK if msg.method in _NO_AUTH else AUTH_ERROR
        user = split_username(cred[2].username)[0]
        try:
            furi = msg.from_.uri
            reg = msg.method in ("REGISTER", "PUBLISH")
            turi = msg.to.uri if reg else None
        except (ParseError, AttributeError):
            return AUTH_ERROR
        skip = checks & 2 and msg.method in ("INVITE", "BYE", "PRACK", "UPDATE", "MESSAGE")
        if not skip and b2s((turi or furi).user or b"") != user:
            return AUTH_USER_MISMATCH
        if reg:
            if (furi.user or b"") != (turi.user or b""):
                return AUTH_USER_MISMATCH
            if use_domain and (furi.host or b"").lower() != (turi.host or b"").lower():
                return AUTH_USER_MISMATCH
            if msg.method == "PUBLISH":
                try:
                    ruri = msg.ruri_uri
                except ParseError:
                    return AUTH_ERROR
                if (furi.user or b"") != (ruri.user or b""):
                    return AUTH_USER_MISMATCH
                if use_domain and (furi.host or b"").lower() != (ruri.host or b"").lower():
                    return AUTH_USER_MISMATCH
        return AUTH_OK


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\"", "\\\"")


def _nc_value(nc: str):
    if len(nc) != 8:
        return None
    try:
        return int(nc, 16)
    except ValueError:
        return None


def _well_formed(c) -> bool:
    """Kamailio's check_dig_cred: what a response needs beyond the parser's checks."""
    if c.username is None or not c.response:
        return False
    if c.qop is not None:
        if c.qop.lower() not in ("auth", "auth-int") or not c.nc or c.cnonce is None:
            return False
    if c.algorithm is not None and c.algorithm not in ("MD5", "SHA-256"):
        return False
    return True


def api(rt) -> Auth:
    return rt.api("auth")
