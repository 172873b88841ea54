# SPDX-License-Identifier: GPL-2.0-or-later
"""Text edits at byte offsets of the message as received, like Kamailio's lumps.

Kamailio's replace()/subst()/search_append() match the received buffer and
record "lumps" (delete these bytes, insert that text) that are applied only
when the message is sent.  kampy's Message records edits per header line
instead, so this module keeps the byte-offset edits of one message (in
ctx.data) and turns them into line edits: the first line becomes a new
R-URI or status, each touched header line is rebuilt from its received text
with every recorded edit inside it and replaces the line (lines a
replacement text adds are inserted after it, lines it empties are removed),
and body edits give a new body.  Like lumps, the edits are always computed
against the received bytes, so two edits of one line combine, and reads
($hdr, search(), ...) keep seeing the received message until
msg_apply_changes().

What lumps can do and line edits cannot is refused with an error: an edit
that spans the end of the header section and the body, one that changes the
method or SIP version, a header line left without "Name:".
"""

from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri

KEY = "textops.lumps"


class Layout:
    """Byte offsets of the received message's parts."""

    __slots__ = ("raw", "eol", "fl_end", "lines", "bstart", "bend")

    def __init__(self, msg):
        raw = msg.raw
        self.raw = raw
        fl = msg.first_line
        eol = b"\r\n" if raw[len(fl):len(fl) + 2] == b"\r\n" else b"\n"
        self.eol = eol
        self.fl_end = len(fl)                       # first line, without its eol
        self.bend = len(msg)
        self.bstart = self.bend - len(msg.body)
        head_start = len(fl) + len(eol)
        head_end = self.bstart - 2 * len(eol)       # before the eol ending the last header
        lines = []                                  # (start, end) of each header line (no eol)
        if head_end > head_start:
            pos = head_start
            for piece in raw[head_start:head_end].split(eol):
                end = pos + len(piece)
                if piece[:1] in (b" ", b"\t") and lines:
                    lines[-1] = (lines[-1][0], end)  # a continuation line
                else:
                    lines.append((pos, end))
                pos = end + len(eol)
        self.lines = lines

    def units(self):
        """[(kind, index, start, end)]: regions an edit may fall in.  A header
        unit covers its line and the eol after it; the first-line unit its line
        and eol; the blank line between header and body belongs to none."""
        eol = len(self.eol)
        out = [("first", 0, 0, self.fl_end + eol)]
        for i, (s, e) in enumerate(self.lines):
            out.append(("hdr", i, s, e + eol))
        out.append(("body", 0, self.bstart, self.bend))
        return out


class _State:
    __slots__ = ("raw", "spans", "groups", "extra", "removed", "written")

    def __init__(self, raw):
        self.raw = raw
        self.written = set()   # header indexes this module replaced
        self.spans = []        # (start, end, text, unit kind, header index), sorted
        self.groups = []       # [first header index, last header index] edited together
        self.extra = {}        # group first index -> lines inserted after it
        self.removed = set()   # header indexes textops removed (remove_hf & co)


def state(ctx):
    """This message's recorded edits (reset when the message was re-parsed)."""
    msg = ctx.msg
    st = ctx.data.get(KEY)
    if st is None or st.raw is not msg.raw:
        st = ctx.data[KEY] = _State(msg.raw)
    return st


def mark_removed(ctx, index: int):
    """A header line a textops function removed: later edits keep it removed."""
    state(ctx).removed.add(index)


class EditError(Exception):
    pass


def _overlaps(spans, s, e):
    for a, b, *_rest in spans:
        if s < b and a < e:
            return True
        if s == e and a < s < b:
            return True
    return False


def _apply(raw, start, end, spans, kind, lo=0, hi=0) -> bytes:
    """raw[start:end] with the recorded edits of one unit (or header group
    lo..hi) applied."""
    out = []
    last = start
    for s, e, t, k, i in spans:
        if k != kind or (kind == "hdr" and not lo <= i <= hi):
            continue
        out.append(raw[last:s])
        out.append(t)
        last = e
    out.append(raw[last:end])
    return b"".join(out)


def _locate(lay, s, e):
    """(kind, first index, last index) of the units an edit [s, e) touches."""
    units = lay.units()
    if s == e:
        # an insertion at a boundary goes to the header unit ending there (an
        # append to that line), else to the unit starting there
        for kind, i, us, ue in units:
            if kind == "hdr" and us < s <= ue:
                return kind, i, i
        for kind, i, us, ue in units:
            if us <= s < ue or (kind == "body" and s == ue):
                return kind, i, i
        raise EditError("insertion point outside the message")
    hit = [(kind, i) for kind, i, us, ue in units if us < e and s < ue]
    if not hit:
        raise EditError("edit in the blank line ending the header section")
    kinds = {k for k, _ in hit}
    if len(kinds) > 1:
        raise EditError("edit spans the start line, header and body sections")
    # a header edit must not reach into the blank line after the last header
    if hit[0][0] == "hdr" and e > units[len(lay.lines)][3]:
        raise EditError("edit reaches the blank line ending the header section")
    return hit[0][0], hit[0][1], hit[-1][1]


def add(ctx, edits) -> int:
    """Record edits [(start, end, bytes)] on the received message and turn them
    into message edits.  Returns how many were applied; raises EditError when
    kampy cannot express them (nothing is changed then)."""
    msg = ctx.msg
    st = state(ctx)
    lay = Layout(msg)
    new = []
    for s, e, t in edits:
        if _overlaps(st.spans, s, e) or _overlaps(new, s, e):
            ctx.rt.log(-1, "textops: edit at %d..%d overlaps an earlier one; skipped" % (s, e))
            continue
        new.append((s, e, t))
    if not new:
        return 0
    touched = [_locate(lay, s, e) for s, e, _t in new]
    # each edit remembers its unit; equal positions keep the order of the calls
    new = [(s, e, t, k, a) for (s, e, t), (k, a, _b) in zip(new, touched)]
    spans = sorted(st.spans + new, key=lambda x: (x[0], x[1]))
    groups = [list(g) for g in st.groups]
    body = first = False
    for kind, a, b in touched:
        if kind == "body":
            body = True
        elif kind == "first":
            first = True
        else:
            merged = [a, b]
            keep = []
            for g in groups:
                if g[0] <= merged[1] and merged[0] <= g[1]:
                    merged = [min(g[0], merged[0]), max(g[1], merged[1])]
                else:
                    keep.append(g)
            groups = keep + [merged]
    # build everything first so a failure leaves the message untouched
    plan = []
    if first:
        plan.append(_first_line(msg, lay, spans))
    hdr_plans = []
    for g in sorted(groups):
        if any(g[0] <= ti[1] and ti[2] <= g[1] for ti in touched if ti[0] == "hdr"):
            hdr_plans.append(_header_group(lay, st, g, spans))
    if body:
        plan.append(("body", _apply(lay.raw, lay.bstart, lay.bend, spans, "body")))
    for step in plan:
        if step[0] == "ruri":
            msg.set_ruri(step[1])
        elif step[0] == "status":
            msg.set_status(step[1], step[2])
        elif step[0] == "body":
            msg.set_body(step[1])
    for plan_ in hdr_plans:
        _write_group(msg, st, lay, *plan_)
    st.spans = spans
    st.groups = groups
    return len(new)


def _first_line(msg, lay, spans):
    line = _apply(lay.raw, 0, lay.fl_end + len(lay.eol), spans, "first")
    if not line.endswith(lay.eol) or lay.eol in line[:-len(lay.eol)]:
        raise EditError("edit adds or removes lines around the start line")
    line = line[:-len(lay.eol)]
    if msg.is_request:
        parts = line.split(b" ")
        orig = msg.first_line.split(b" ")
        if len(parts) != 3 or parts[0] != orig[0] or parts[2] != orig[2]:
            raise EditError("edit changes the method or SIP version")
        try:
            parse_uri(parts[1])
        except ParseError as e:
            raise EditError("edit leaves a bad Request-URI: %s" % e) from None
        return ("ruri", parts[1])
    parts = line.split(b" ", 2)
    if len(parts) < 2 or parts[0] != msg.version or not parts[1].isdigit() or len(parts[1]) != 3:
        raise EditError("edit breaks the status line")
    return ("status", int(parts[1]), parts[2] if len(parts) > 2 else b"")


def _header_group(lay, st, g, spans):
    """(group, new lines, lines to insert before it, lines to insert after it)."""
    a, b = g
    eol = lay.eol
    start = lay.lines[a][0]
    end = lay.lines[b][1] + len(eol)
    text = _apply(lay.raw, start, end, spans, "hdr", a, b)
    if text and not text.endswith(eol):
        raise EditError("edit joins a header line with the next one")
    lines = text.split(eol)[:-1] if text else []
    for ln in lines:
        if b":" not in ln or ln[:1] in (b" ", b"\t", b""):
            raise EditError("edit leaves a header line without a name: %r" % ln[:40])
        if b"\r" in ln or b"\n" in ln:
            raise EditError("edit leaves a stray line break in a header: %r" % ln[:40])
    n = b - a + 1
    before = after = []
    if len(lines) > n:
        orig = [lay.raw[s:e] for s, e in lay.lines[a:b + 1]]
        if lines[-n:] == orig and not any(i in st.written for i in range(a, b + 1)):
            before, lines = lines[:-n], lines[-n:]      # lines put in front of the group
        else:
            lines, after = lines[:n], lines[n:]         # lines added after it
    for key, extra in ((("before", a), before), (("after", a), after)):
        done = st.extra.get(key)
        if extra and done is not None and extra[:len(done)] != done:
            raise EditError("a header edit cannot change lines it added before msg_apply_changes()")
    return g, lines, before, after


def _write_group(msg, st, lay, g, lines, before, after):
    a, b = g

    def replace(idx, line):
        # a line that comes out as received is left alone (other modules may
        # have changed it, e.g. Content-Length, which serialize() keeps right)
        s, e = lay.lines[idx]
        if line == lay.raw[s:e] and idx not in st.written:
            return
        msg.replace_header_at(idx, line)
        st.written.add(idx)

    for k in range(b - a + 1):
        idx = a + k
        if idx in st.removed:
            continue
        if k < len(lines):
            replace(idx, lines[k])
        else:
            msg.remove_header_at(idx)
    for key, extra, pos in ((("before", a), before, a), (("after", a), after, b + 1)):
        done = st.extra.get(key, [])
        for ln in extra[len(done):]:            # lines added by earlier calls stay
            msg.append_header(ln, before=pos)
        if extra:
            st.extra[key] = extra
