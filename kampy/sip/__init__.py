# SPDX-License-Identifier: GPL-2.0-or-later
"""Sans-IO SIP: bytes in, messages out, bytes back.  No sockets, clocks or globals."""

from .errors import ParseError
from .message import KEEP, Message, parse
from .uri import URI, parse_uri, uri_equal
from .headers import NameAddr, Via, CSeq, header_key, display_name
from .build import (
    make_branch, make_call_id, make_reply, make_request, make_tag, via_value,
    name_addr, REASONS, MAGIC,
)
from . import digest

__all__ = [
    "ParseError", "Message", "parse", "KEEP", "URI", "parse_uri", "uri_equal",
    "NameAddr", "Via", "CSeq", "header_key", "display_name", "make_branch",
    "make_call_id", "make_reply", "make_request", "make_tag", "via_value",
    "name_addr", "REASONS", "MAGIC", "digest",
]
