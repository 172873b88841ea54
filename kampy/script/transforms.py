# SPDX-License-Identifier: GPL-2.0-or-later
"""The core transformations: `$(pv{s.len})`, `{uri.user}`, `{param.value,x}`...

Each one is registered as a factory `factory(args, pos) -> fn(value, ctx)`.
The factory runs once at startup: it checks the argument count, converts
the constant arguments and raises ConfigError for what it cannot accept.
`fn` runs per message and never raises: where Kamailio logs an error and
the PV becomes $null, `fn` returns None.

Results follow Kamailio 5.6, including its quirks where a config could
depend on them (a missing URI parameter gives "", not $null; param lists
give the *last* parameter of a repeated name; s.int refuses "12ab").
Kamailio works on bytes, so lengths and offsets count UTF-8 bytes here too;
non-ASCII text is handled through s2b/b2s so any byte survives.
"""

import base64
import binascii
import functools
import hashlib
import re
import time

from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri

from .ast import ConfigError
from .pv import b2s, s2b

__all__ = ["register_core_transforms", "CORE_TRANSFORM_NAMES"]

_TRANSFORMS = {}   # name -> factory(args, pos)

_INT_RE = re.compile(r"[ \t\n]*[+-]?[0-9]+[ \t\n]*")
_STRICT_INT_RE = re.compile(r"[+-]?[0-9]*")    # Kamailio's str2sint: "" and "-" give 0
_WS = " \t\r\n"
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def register_core_transforms(registry):
    from .tr_re import TRANSFORMS as RE_TRANSFORMS
    for name, factory in _TRANSFORMS.items():
        registry.add_transform(name, factory)
    for name, factory in RE_TRANSFORMS.items():
        registry.add_transform(name, factory)


def _transform(*names, nmin=0, nmax=None):
    """Register `build(args, pos, name)` under each name, the argument count
    checked first so every builder can index its args blindly."""
    if nmax is None:
        nmax = nmin

    def deco(build):
        for name in names:
            def factory(args, pos, _name=name):
                n = len(args)
                if not nmin <= n <= nmax:
                    if nmin == nmax:
                        want = "%d argument%s" % (nmin, "" if nmin == 1 else "s")
                    else:
                        want = "%d to %d arguments" % (nmin, nmax)
                    raise ConfigError(pos, "transformation {%s} takes %s, got %d"
                                      % (_name, want, n))
                return build(list(args), pos, _name)
            factory.__qualname__ = "transform[%s]" % name
            _TRANSFORMS[name] = factory
        return build
    return deco


# --- values and arguments -------------------------------------------------------

def _sval(v):
    """The string view of a value: Kamailio's int PVs carry one as well."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    return None


def _nes(v):
    """uri, param, nameaddr, tobody and line transformations refuse "" as well."""
    s = _sval(v)
    return s if s else None


def _on_bytes(s, f, *a):
    """Run a slicing function on the UTF-8 bytes when the text is not ASCII,
    so offsets and lengths count bytes as in Kamailio."""
    if s.isascii():
        return f(s, *a)
    r = f(s2b(s), *a)
    return b2s(r) if isinstance(r, bytes) else r


def _pv_int(v):
    if isinstance(v, int):
        return v
    if isinstance(v, str) and _INT_RE.fullmatch(v):
        return int(v)
    return None


def _int_arg(arg, pos, name, what):
    """A number in the config, or a PV read per message (None when it holds
    no number, which makes the transformation give $null)."""
    if isinstance(arg, str):
        if not _INT_RE.fullmatch(arg):
            raise ConfigError(pos, "transformation {%s}: %s must be an integer, not %r"
                              % (name, what, arg))
        n = int(arg)
        return lambda ctx: n
    return lambda ctx: _pv_int(arg.get(ctx))


def _str_arg(arg):
    """A literal, or a PV that must hold a non-empty value (Kamailio's rule)."""
    if isinstance(arg, str):
        return lambda ctx: arg
    return lambda ctx: _nes(arg.get(ctx))


def _char_arg(arg, pos, name, what):
    """Only the first character counts, as in Kamailio."""
    if isinstance(arg, str):
        if not arg:
            raise ConfigError(pos, "transformation {%s}: empty %s" % (name, what))
        c = arg[0]
        return lambda ctx: c
    get = _str_arg(arg)

    def char(ctx):
        v = get(ctx)
        return v[0] if v else None
    return char


def _simple(*names):
    """A transformation without arguments made of a str -> result function."""
    def deco(f):
        def build(args, pos, name):
            def fn(value, ctx):
                s = _sval(value)
                return None if s is None else f(s)
            return fn
        _transform(*names)(build)
        return f
    return deco


# --- string transformations ----------------------------------------------------------

@_simple("s.len")
def _s_len(s):
    return len(s) if s.isascii() else len(s2b(s))


@_transform("s.int")
def _s_int(args, pos, name):
    def fn(value, ctx):
        if isinstance(value, int):
            return value
        if value is None or not _STRICT_INT_RE.fullmatch(value):
            return None
        n = int(value) if value.lstrip("+-") else 0
        return n if _LONG_MIN <= n <= _LONG_MAX else None
    return fn


def _hasher(algo):
    return lambda s: hashlib.new(algo, s2b(s)).hexdigest()


for _algo in ("md5", "sha256", "sha384", "sha512"):
    _simple("s." + _algo)(_hasher(_algo))

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@_simple("s.tolower")
def _s_tolower(s):
    return s.translate(_LOWER)       # ASCII only, like Kamailio


@_simple("s.toupper")
def _s_toupper(s):
    return s.translate(_UPPER)


@_simple("s.numeric")
def _s_numeric(s):
    return "".join(c for c in s if "0" <= c <= "9")


@_simple("s.trim")
def _s_trim(s):
    return s.strip(_WS)


@_simple("s.rtrim")
def _s_rtrim(s):
    return s.rstrip(_WS)


@_simple("s.ltrim")
def _s_ltrim(s):
    return s.lstrip(_WS)


@_simple("s.rmws")
def _s_rmws(s):
    return "".join(c for c in s if c not in _WS)


@_simple("s.unquote")
def _s_unquote(s):
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    return s


@_simple("s.quote")
def _s_quote(s):
    # kampy extension (not in Kamailio 5.6): the reverse of s.unquote
    return '"' + s + '"'


_BRACKETS = {"(": ")", "[": "]", "{": "}", "<": ">"}


@_simple("s.unbracket")
def _s_unbracket(s):
    if len(s) >= 2 and _BRACKETS.get(s[0]) == s[-1]:
        return s[1:-1]
    return s


@_simple("s.encode.hexa")
def _s_encode_hexa(s):
    return s2b(s).hex()


@_simple("s.decode.hexa")
def _s_decode_hexa(s):
    # An odd trailing digit is ignored, as Kamailio decodes len/2 pairs.
    s = s[: len(s) // 2 * 2]
    if not all(c in "0123456789abcdefABCDEF" for c in s):
        return None
    return b2s(bytes.fromhex(s))


def _b64decoder(alt, pad):
    chars = re.compile(r"[A-Za-z0-9%s]*={0,2}" % re.escape(alt.decode()))

    def decode(s):
        if pad and len(s) % 4:
            s += "=" * (4 - len(s) % 4)
        if len(s) % 4 or not chars.fullmatch(s):
            return None
        try:
            out = base64.b64decode(s, altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            return None
        if not out and s:
            return None
        return b2s(out)
    return decode


def _b64encoder(alt, strip):
    def encode(s):
        out = base64.b64encode(s2b(s), altchars=alt).decode("ascii")
        return out.rstrip("=") if strip else out
    return encode


for _suffix, _alt in (("base64", b"+/"), ("base64url", b"-_")):
    _simple("s.encode." + _suffix)(_b64encoder(_alt, False))
    _simple("s.decode." + _suffix)(_b64decoder(_alt, False))
    _simple("s.encode." + _suffix + "t")(_b64encoder(_alt, True))
    _simple("s.decode." + _suffix + "t")(_b64decoder(_alt, True))


_COMMON_ESC = {"'": "\\'", '"': '\\"', "\\": "\\\\", "\0": "\\0"}
_COMMON_UNESC = {"'": "'", '"': '"', "\\": "\\", "0": "\0"}


@_simple("s.escape.common")
def _s_escape_common(s):
    return "".join(_COMMON_ESC.get(c, c) for c in s)


@_simple("s.unescape.common")
def _s_unescape_common(s):
    out, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and s[i + 1] in _COMMON_UNESC:
            out.append(_COMMON_UNESC[s[i + 1]])
            i += 2
        else:           # an unknown escape keeps its backslash
            out.append(c)
            i += 1
    return "".join(out)


_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Kamailio's own sets, which differ a little from RFC 3261's ('/' is escaped
# in a user part); hex digits come out lowercase.
_USER_SAFE = frozenset(_ALNUM + b"-_.!~*'()&=+$,;?")
_PARAM_SAFE = frozenset(_ALNUM + b"-_.!~*'()[]/:&+$")
_URL_SAFE = frozenset(_ALNUM + b"-_.~")


def _percent_escaper(safe, printable_only):
    def escape(s):
        out = []
        for b in s2b(s):
            if printable_only and not 32 <= b <= 126:
                return None
            out.append(chr(b) if b in safe else "%%%02x" % b)
        return "".join(out)
    return escape


_HEX2 = re.compile(r"[0-9a-fA-F]{2}")


def _percent_unescaper(printable_only, plus_space):
    def unescape(s):
        if "%" not in s and not (plus_space and "+" in s):
            return s
        raw = s2b(s)
        out = bytearray()
        i, n = 0, len(raw)
        while i < n:
            b = raw[i]
            if b == 0x25:      # '%'
                hh = raw[i + 1:i + 3].decode("latin-1")
                if not _HEX2.fullmatch(hh):
                    return None
                b = int(hh, 16)
                if printable_only and not 32 <= b <= 126:
                    return None
                i += 3
            else:
                if plus_space and b == 0x2B:
                    b = 0x20
                i += 1
            out.append(b)
        return b2s(bytes(out))
    return unescape


_simple("s.escape.user")(_percent_escaper(_USER_SAFE, True))
_simple("s.escape.param")(_percent_escaper(_PARAM_SAFE, True))
_simple("s.unescape.user", "s.unescape.param")(_percent_unescaper(True, False))
_simple("s.urlencode.param")(_percent_escaper(_URL_SAFE, False))
_simple("s.urldecode.param")(_percent_unescaper(False, True))


@_simple("s.escape.csv")
def _s_escape_csv(s):
    return '"' + s.replace('"', '""') + '"'


@_simple("s.dec2hex")
def _s_dec2hex(s):
    # kampy extension (OpenSIPS has it, Kamailio 5.6 does not)
    if not re.fullmatch(r"\+?[0-9]+", s):
        return None
    return "%x" % int(s)


@_simple("s.hex2dec")
def _s_hex2dec(s):
    # kampy extension, the reverse of s.dec2hex
    m = re.fullmatch(r"(?:0[xX])?([0-9a-fA-F]+)", s)
    return int(m.group(1), 16) if m else None


def _substr(s, off, length):
    n = len(s)
    if off >= 0:
        if off >= n:
            return None
        if length == 0 or off + length >= n:
            return s[off:]
        return s[off:off + length]
    back = -off
    if back > n:
        return None
    start = n - back
    if length == 0 or back <= length:
        return s[start:]
    return s[start:start + length]


@_transform("s.substr", nmin=2)
def _s_substr(args, pos, name):
    if isinstance(args[1], str) and _INT_RE.fullmatch(args[1]) and int(args[1]) < 0:
        raise ConfigError(pos, "transformation {s.substr}: negative length")
    get_off = _int_arg(args[0], pos, name, "offset")
    get_len = _int_arg(args[1], pos, name, "length")

    def fn(value, ctx):
        s = _sval(value)
        off, length = get_off(ctx), get_len(ctx)
        if s is None or off is None or length is None or length < 0:
            return None
        return _on_bytes(s, _substr, off, length)
    return fn


_SELECT_ESCAPES = {"\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t"}


@_transform("s.select", nmin=2, nmax=3)
def _s_select(args, pos, name):
    """Kamailio takes the one character after the second comma, so the
    cookbook's `{s.select,1,,}` arrives split as ["1", "", ""]: a comma."""
    if len(args) == 3:
        if args[1:] != ["", ""]:
            raise ConfigError(pos, "transformation {s.select} takes 2 arguments, got 3")
        args = [args[0], ","]
    get_idx = _int_arg(args[0], pos, name, "index")
    sep = args[1]
    if isinstance(sep, str) and len(sep) == 2:
        sep = _SELECT_ESCAPES.get(sep, sep)
    if not isinstance(sep, str) or len(sep) != 1:
        raise ConfigError(pos, "transformation {s.select}: the separator must be one "
                          "character or one of \\\\ \\n \\r \\t")

    def fn(value, ctx):
        s = _sval(value)
        i = get_idx(ctx)
        if s is None or i is None:
            return None
        fields = s.split(sep)
        if -len(fields) <= i < len(fields):
            return fields[i]
        return ""
    return fn


def _strip_head(s, n):
    return s if n <= 0 else s[n:]


def _strip_tail(s, n):
    return s if n <= 0 else s[:max(len(s) - n, 0)]


def _strip_builder(cut):
    def build(args, pos, name):
        get_n = _int_arg(args[0], pos, name, "length")

        def fn(value, ctx):
            s = _sval(value)
            n = get_n(ctx)
            if s is None or n is None:
                return None
            return _on_bytes(s, cut, n)
        return fn
    return build


_transform("s.strip", nmin=1)(_strip_builder(_strip_head))
_transform("s.striptail", nmin=1)(_strip_builder(_strip_tail))


@_transform("s.stripto", nmin=1)
def _s_stripto(args, pos, name):
    """Kamailio keeps the character itself: "abc@def"{s.stripto,@} is "@def"."""
    get_c = _char_arg(args[0], pos, name, "character")

    def fn(value, ctx):
        s = _sval(value)
        c = get_c(ctx)
        if s is None or c is None:
            return None
        i = s.find(c)
        return "" if i < 0 else s[i:]
    return fn


def _prefixes(s, limit, quote):
    top = len(s)
    if limit is not None and 0 < limit < top:
        top = limit
    q = "'" if quote else ""
    return ",".join(q + s[:k] + q for k in range(1, top + 1))


def _prefixes_builder(quote):
    def build(args, pos, name):
        get_max = _int_arg(args[0], pos, name, "length") if args else (lambda ctx: None)

        def fn(value, ctx):
            s = _sval(value)
            limit = get_max(ctx)
            if s is None or (args and limit is None):
                return None
            if s.isascii():
                return _prefixes(s, limit, quote)
            # Prefixes of the bytes: latin-1 maps each byte to one character.
            out = _prefixes(s2b(s).decode("latin-1"), limit, quote)
            return b2s(out.encode("latin-1"))
        return fn
    return build


_transform("s.prefixes", nmin=0, nmax=1)(_prefixes_builder(False))
_transform("s.prefixes.quoted", nmin=0, nmax=1)(_prefixes_builder(True))


@_transform("s.replace", nmin=2)
def _s_replace(args, pos, name):
    get_match, get_repl = _str_arg(args[0]), _str_arg(args[1])

    def fn(value, ctx):
        s = _sval(value)
        match, repl = get_match(ctx), get_repl(ctx)
        if s is None or match is None or repl is None:
            return None
        return s.replace(match, repl) if match else s
    return fn


def _decode_rm_escapes(s):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)),
                  s, flags=re.S)


@_transform("s.rm", nmin=1)
def _s_rm(args, pos, name):
    arg = args[0]
    if isinstance(arg, str):
        arg = _decode_rm_escapes(arg)
    get_match = _str_arg(arg)

    def fn(value, ctx):
        s = _sval(value)
        match = get_match(ctx)
        if s is None or match is None:
            return None
        return s.replace(match, "") if match else s
    return fn


@_transform("s.count", nmin=1)
def _s_count(args, pos, name):
    get_c = _char_arg(args[0], pos, name, "character")

    def fn(value, ctx):
        s = _sval(value)
        c = get_c(ctx)
        return None if s is None or c is None else s.count(c)
    return fn


def _cut_builder(find, after):
    """s.before/s.after and their r-versions: not found gives "" for the
    after forms and the whole value for the before forms."""
    def build(args, pos, name):
        get_c = _char_arg(args[0], pos, name, "character")

        def fn(value, ctx):
            s = _sval(value)
            c = get_c(ctx)
            if s is None or c is None:
                return None
            i = find(s, c)
            if i < 0:
                return "" if after else s
            return s[i + 1:] if after else s[:i]
        return fn
    return build


_transform("s.before", nmin=1)(_cut_builder(str.find, False))
_transform("s.rbefore", nmin=1)(_cut_builder(str.rfind, False))
_transform("s.after", nmin=1)(_cut_builder(str.find, True))
_transform("s.rafter", nmin=1)(_cut_builder(str.rfind, True))


@_transform("s.ftime", nmin=1)
def _s_ftime(args, pos, name):
    get_fmt = _str_arg(args[0])

    def fn(value, ctx):
        fmt = get_fmt(ctx)
        if isinstance(value, int):
            t = value
        elif isinstance(value, str) and _STRICT_INT_RE.fullmatch(value) and value.lstrip("+-"):
            t = int(value)
        else:
            return None
        if fmt is None:
            return None
        try:
            return time.strftime(fmt, time.localtime(t))
        except (OverflowError, OSError, ValueError):
            return None
    return fn


# --- parameter lists (Kamailio's parse_params2) --------------------------------------

_PARAM_SLOW = re.compile(r"[ \t\r\n,>\"']")


def _split_params(text, sep):
    """[(name, value or None)] in order, or None where Kamailio's parser fails.

    Like Kamailio: one trailing separator is dropped, a leading one makes an
    empty-named first parameter, a quoted value loses its quotes, and ','
    or '>' end the list.  Unlike Kamailio, `a=;b` gives a an empty value
    instead of failing the whole list.
    """
    if len(text) > 1 and text[-1] == sep:
        text = text[:-1]
    if sep not in _WS and not _PARAM_SLOW.search(text.replace(sep, "")):
        if text.endswith(sep):
            return None
        out = []
        for item in text.split(sep):
            k, eq, v = item.partition("=")
            out.append((k, v if eq else None))
        return out
    out = []
    i, n = 0, len(text)

    def skip_ws(j):
        while j < n and text[j] in _WS:
            j += 1
        return j

    while True:
        j = i
        while j < n and text[j] not in _WS and text[j] not in ",=" and text[j] != sep:
            j += 1
        pname, value = text[i:j], None
        i = skip_ws(j)
        if i < n and text[i] == "=":
            i = skip_ws(i + 1)
            if i < n and text[i] in "\"'":
                k = text.find(text[i], i + 1)
                if k < 0:
                    return None
                value, i = text[i + 1:k], k + 1
            else:
                j = i
                while j < n and text[j] not in _WS and text[j] != "," and text[j] != sep:
                    j += 1
                value, i = text[i:j], j
            i = skip_ws(i)
        out.append((pname, value))
        if i >= n:
            return out
        c = text[i]
        if (c == "," and sep != ",") or (c == ">" and sep != ">"):
            return out
        if c != sep:
            return None
        i = skip_ws(i + 1)
        if i >= n:
            return None


def _find_param(plist, pname):
    """Kamailio keeps the list reversed, so the last one of a name wins."""
    key = pname.lower()
    for k, v in reversed(plist):
        if k.lower() == key:
            return "" if v is None else v
    return None


def _sep_arg(args, i, pos, name):
    if len(args) <= i:
        return lambda ctx: ";"
    arg = args[i]
    if isinstance(arg, str):
        if len(arg) != 1:
            raise ConfigError(pos, "transformation {%s}: the separator must be a single "
                              "character, not %r" % (name, arg))
        return lambda ctx: arg
    return _char_arg(arg, pos, name, "separator")


@functools.lru_cache(maxsize=256)
def _params_of(text, sep):
    return _split_params(text, sep)


def _plist_builder(kind):
    def build(args, pos, name):
        if kind == "count":
            get_sep = _sep_arg(args, 0, pos, name)
            get_key = None
        else:
            get_sep = _sep_arg(args, 1, pos, name)
            if kind in ("valueat", "name"):
                get_key = _int_arg(args[0], pos, name, "index")
            else:
                get_key = _str_arg(args[0])

        def fn(value, ctx):
            s = _nes(value)
            sep = get_sep(ctx)
            if s is None or sep is None:
                return None
            plist = _params_of(s, sep)
            if not plist:
                return None
            if kind == "count":
                return len(plist)
            key = get_key(ctx)
            if key is None:
                return None
            if kind == "value":
                v = _find_param(plist, key)
                return "" if v is None else v
            if kind == "in":
                return 0 if _find_param(plist, key) is None else 1
            if not -len(plist) <= key < len(plist):
                return ""
            k, v = plist[key]
            if kind == "name":
                return k
            return "" if v is None else v
        return fn
    return build


_transform("param.value", nmin=1, nmax=2)(_plist_builder("value"))
_transform("param.in", nmin=1, nmax=2)(_plist_builder("in"))
_transform("param.valueat", nmin=1, nmax=2)(_plist_builder("valueat"))
_transform("param.name", nmin=1, nmax=2)(_plist_builder("name"))
_transform("param.count", nmin=0, nmax=1)(_plist_builder("count"))


# --- URIs --------------------------------------------------------------------------

class _UriParts:
    """The pieces of a URI as Kamailio's struct sip_uri holds them (text as
    written, "" for what is absent)."""

    __slots__ = ("scheme", "user", "passwd", "host", "port", "params", "headers",
                 "named", "is_tel")

    def port_no(self):
        return int(self.port) if self.port else 0


_NAMED = ("transport", "ttl", "user", "maddr", "method", "lr", "r2")
_PROTOS = ("udp", "tcp", "tls", "sctp", "ws")


def _uri_from_bytes(raw):
    """_UriParts of a sip, sips or tel URI, None for anything else."""
    scheme, colon, _ = raw.partition(b":")
    if not colon or scheme.lower() not in (b"sip", b"sips", b"tel"):
        return None
    try:
        u = parse_uri(raw)
    except (ParseError, ValueError):
        return None
    p = _UriParts()
    p.scheme = b2s(scheme)
    p.passwd = b2s(u.password or b"")
    params = b2s(u.params)
    named = {}
    for item in params.split(";") if params else ():
        k, _, v = item.partition("=")
        if k.lower() in _NAMED:
            named[k.lower()] = v            # the last one wins, as in parse_uri()
    p.named = named
    if u.scheme == "tel":
        # Kamailio keeps tel parameters out of the "sip params".
        p.is_tel = True
        p.user, p.host, p.port, p.params, p.headers = b2s(u.user or b""), "", "", "", ""
        return p
    p.is_tel = False
    user = b2s(u.user or b"")
    if named.get("user") == "phone":
        user = user.partition(";")[0]      # phone2tel: the number without its params
    p.user = user
    p.host = b2s(u.host)
    hp = u.hostport
    p.port = b2s(hp[len(u.host) + 1:]) if len(hp) > len(u.host) else ""
    p.params = params
    p.headers = b2s(u.headers)
    return p


@functools.lru_cache(maxsize=256)
def _uri_of(text):
    raw = s2b(text)
    if len(raw) > 4 and raw.endswith(b";"):
        raw = raw[:-1]          # Kamailio tolerates one trailing ';'
    return _uri_from_bytes(raw)


def _compose(u, user, port):
    """uri.suri/duri/saor: scheme, [user@]host, [:port][;transport=]."""
    out = [u.scheme, ":"]
    if user and u.user:
        out += [u.user, "@"]
    out.append(u.host)
    if port:
        if u.port:
            out += [":", u.port]
        if u.named.get("transport"):
            out += [";transport=", u.named["transport"]]
    return "".join(out)


def _tosocket(u):
    proto = u.named.get("transport", "").lower()
    if proto not in _PROTOS:
        return ""           # Kamailio warns "unknown transport protocol"
    return "%s:%s:%d" % (proto, u.host, u.port_no() or 5060)


_URI_GETTERS = {
    "uri.user": lambda u: u.user,
    "uri.host": lambda u: u.host,
    "uri.domain": lambda u: u.host,
    "uri.passwd": lambda u: u.passwd,
    "uri.port": lambda u: u.port,
    "uri.params": lambda u: u.params,
    "uri.headers": lambda u: u.headers,
    "uri.transport": lambda u: u.named.get("transport", ""),
    "uri.ttl": lambda u: u.named.get("ttl", ""),
    "uri.uparam": lambda u: u.named.get("user", ""),
    "uri.maddr": lambda u: u.named.get("maddr", ""),
    "uri.method": lambda u: u.named.get("method", ""),
    "uri.lr": lambda u: u.named.get("lr", ""),
    "uri.r2": lambda u: u.named.get("r2", ""),
    "uri.scheme": lambda u: u.scheme,
    "uri.tosocket": _tosocket,
    "uri.duri": lambda u: _compose(u, False, True),
    "uri.saor": lambda u: _compose(u, True, False),
    "uri.suri": lambda u: _compose(u, True, True),
}


def _uri_builder(args, pos, name):
    get = _URI_GETTERS[name]

    def fn(value, ctx):
        s = _nes(value)
        u = None if s is None else _uri_of(s)
        return None if u is None else get(u)
    return fn


_transform(*_URI_GETTERS)(_uri_builder)


@_transform("uri.param", nmin=1)
def _uri_param(args, pos, name):
    """A missing parameter gives "" (Kamailio), not $null."""
    get_name = _str_arg(args[0])

    def fn(value, ctx):
        s = _nes(value)
        pname = get_name(ctx)
        u = None if s is None else _uri_of(s)
        if u is None or pname is None:
            return None
        if not u.params:
            return ""
        plist = _params_of(u.params, ";")
        if plist is None:
            return None
        v = _find_param(plist, pname)
        return "" if v is None else v
    return fn


# --- name-addr and To-body ---------------------------------------------------------

def _find_unquoted(s, c, start=0):
    quoted = False
    for i in range(start, len(s)):
        ch = s[i]
        if quoted:
            if ch == '"' and s[i - 1] != "\\":
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == c:
            return i
    return -1


@functools.lru_cache(maxsize=256)
def _nameaddr_of(text):
    """(name, uri, len) as Kamailio's parse_nameaddr splits them: the name is
    the raw text before '<' (quotes and spaces kept), no '<' makes the whole
    value the URI."""
    lt = _find_unquoted(text, "<")
    if lt < 0:
        return "", text, len(s2b(text))
    gt = _find_unquoted(text, ">", lt + 1)
    if gt < 0:
        return None
    return text[:lt], text[lt + 1:gt], len(s2b(text[:gt + 1]))


def _nameaddr_builder(index):
    def build(args, pos, name):
        def fn(value, ctx):
            s = _nes(value)
            na = None if s is None else _nameaddr_of(s)
            return None if na is None else na[index]
        return fn
    return build


_transform("nameaddr.name")(_nameaddr_builder(0))
_transform("nameaddr.uri")(_nameaddr_builder(1))
_transform("nameaddr.len")(_nameaddr_builder(2))


_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


@functools.lru_cache(maxsize=256)
def _tobody_of(text):
    """display, uri, tag, user, host, params of a To/From body; None when the
    body or its URI does not parse (Kamailio needs both).

    Split here in linear time rather than with headers.parse_name_addr,
    whose display-name regex backtracks exponentially on `xxx... <sip:a`.
    Like Kamailio's parse_to, an unquoted display name may hold any text.
    """
    lt = _find_unquoted(text, "<")
    if lt >= 0:
        gt = text.find(">", lt + 1)
        if gt < 0:
            return None
        display = text[:lt].strip(_WS)
        if display.startswith('"') and not _QUOTED_RE.fullmatch(display):
            return None
        if not display.startswith('"') and '"' in display:
            return None
        uri, rest = text[lt + 1:gt], text[gt + 1:]
    else:
        if '"' in text:
            return None
        body = text.lstrip(_WS)
        end = next((i for i, c in enumerate(body) if c == ";" or c in _WS), len(body))
        display, uri, rest = "", body[:end], body[end:]
    rest = rest.lstrip(_WS)
    tag, params = "", ""
    if rest:
        if rest[0] != ";":
            return None
        params = rest[1:].lstrip(_WS)
        plist = _split_params(params.rstrip(_WS), ";")
        if plist is None:
            return None
        tag = _find_param(plist, "tag") or ""
    u = _uri_from_bytes(s2b(uri))
    if u is None:
        return None
    return {
        "tobody.display": display,
        "tobody.uri": uri,
        "tobody.tag": tag,
        "tobody.user": u.user,
        "tobody.host": u.host,
        "tobody.params": params,
    }


def _tobody_builder(args, pos, name):
    def fn(value, ctx):
        s = _nes(value)
        tb = None if s is None else _tobody_of(s)
        return None if tb is None else tb[name]
    return fn


_transform("tobody.display", "tobody.uri", "tobody.tag", "tobody.user", "tobody.host",
           "tobody.params")(_tobody_builder)


# --- lines -------------------------------------------------------------------------

def _cr(line):
    return line[:-1] if line.endswith("\r") else line


@_transform("line.count")
def _line_count(args, pos, name):
    """An int, although Kamailio's shared exit path turns it into a string."""
    def fn(value, ctx):
        s = _nes(value)
        if s is None:
            return None
        return s.count("\n") + (0 if s.endswith("\n") else 1)
    return fn


@_transform("line.at", nmin=1)
def _line_at(args, pos, name):
    get_n = _int_arg(args[0], pos, name, "index")

    def fn(value, ctx):
        s = _nes(value)
        n = get_n(ctx)
        if s is None or n is None:
            return None
        if n < 0 and s.endswith("\n"):
            s = s[:-1]          # a final newline does not start a last, empty line
        lines = s.split("\n")
        if -len(lines) <= n < len(lines):
            return _cr(lines[n])
        return ""
    return fn


@_transform("line.sw", nmin=1)
def _line_sw(args, pos, name):
    get_prefix = _str_arg(args[0])

    def fn(value, ctx):
        s = _nes(value)
        prefix = get_prefix(ctx)
        if s is None or prefix is None:
            return None
        for line in s.split("\n"):
            if line.startswith(prefix):
                return _cr(line)
        return ""
    return fn


CORE_TRANSFORM_NAMES = tuple(sorted(list(_TRANSFORMS) + ["re.subst"]))
