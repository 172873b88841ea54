# SPDX-License-Identifier: GPL-2.0-or-later
"""String tests on script values (no message involved)."""

from kampy.module import Fmt
from kampy.script.ast import ConfigError


def separator_fixup(fname, index):
    """A constant separator must be one character, as Kamailio checks at startup."""
    def fixup(args, pos):
        a = args[index]
        v = getattr(a, "value", None)
        if isinstance(v, str) and "$" not in v and len(v) != 1:
            raise ConfigError(a.pos, "%s: the separator must be one character, not %r" % (fname, v))
        return args
    return fixup


def cmp_str(ctx, s1: Fmt, s2: Fmt) -> int:
    """cmp_str(str1, str2): 1 when equal; -1 when str1 sorts after str2, -2 before"""
    if s1 == s2:
        return 1
    return -1 if s1 > s2 else -2


def cmp_istr(ctx, s1: Fmt, s2: Fmt) -> int:
    """cmp_istr(str1, str2): like cmp_str, ignoring ASCII case"""
    a, b = s1.lower(), s2.lower()
    if a == b:
        return 1
    return -1 if a > b else -2


def starts_with(ctx, s1: Fmt, s2: Fmt) -> int:
    """starts_with(str1, str2)"""
    return 1 if s1.startswith(s2) else -1


def ends_with(ctx, s1: Fmt, s2: Fmt) -> int:
    """ends_with(str1, str2)"""
    return 1 if s1.endswith(s2) else -1


def str_find(ctx, s1: Fmt, s2: Fmt) -> int:
    """str_find(str1, str2): the position of str2 in str1 plus one, -1 if absent"""
    i = s1.find(s2)
    return i + 1 if i >= 0 else -1


def str_ifind(ctx, s1: Fmt, s2: Fmt) -> int:
    """str_ifind(str1, str2): str_find ignoring ASCII case"""
    i = s1.lower().find(s2.lower())
    return i + 1 if i >= 0 else -1


def str_any_in(ctx, txt: Fmt, clist: Fmt) -> int:
    """str_any_in(txt, clist): one of the characters of clist is in txt"""
    return 1 if any(c in txt for c in clist) else -1


def str_all_in(ctx, txt: Fmt, clist: Fmt) -> int:
    """str_all_in(txt, clist): every character of clist is in txt"""
    return 1 if clist and all(c in txt for c in clist) else -1


def _items(lst: str, sep: str):
    return lst.split(sep)


def in_list(ctx, subject: Fmt, lst: Fmt, sep: Fmt) -> int:
    """in_list(subject, list, separator)"""
    if len(sep) != 1:
        ctx.rt.log(-1, "textops: in_list: the separator must be one character")
        return -1
    return 1 if subject in _items(lst, sep) else -1


def in_list_prefix(ctx, subject: Fmt, lst: Fmt, sep: Fmt) -> int:
    """in_list_prefix(subject, list, separator): an item is a prefix of subject"""
    if len(sep) != 1:
        ctx.rt.log(-1, "textops: in_list_prefix: the separator must be one character")
        return -1
    return 1 if any(x and subject.startswith(x) for x in _items(lst, sep)) else -1
