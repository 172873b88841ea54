# SPDX-License-Identifier: GPL-2.0-or-later
"""IPv6-only INVITE after one proxy: IPv6 references in R-URI, Via, Record-Route, Contact; an
IPv6 received= param (RFC 5118 style, no brackets).
"""

expect = {
    'request': True,
    'method': 'INVITE',
    'ruri': b'sip:bob@[2001:db8::20]:5060',
    'ruri_host': b'[2001:db8::20]',
    'ruri_port': 5060,
    'ruri_host_type': 'ipv6',
    'via_count': 2,
    'via_host': b'[2001:db8::10]',
    'via_port': 5060,
    'via_branch': b'z9hG4bK4f2a.7e1d0c9b8a7f6e5d.0',
    'vias': [{'host': b'[2001:db8::10]', 'port': 5060},
             {'host': b'[2001:db8::1]',
              'port': 5060,
              'sent_by': b'[2001:db8::1]:5060',
              'received': b'2001:db8::8a2e:370:7334',
              'rport': b'5062',
              'branch': b'z9hG4bK6c1e9a3b'}],
    'from_uri': b'sip:alice@[2001:db8::1]',
    'from_tag': b'9fxced76sl',
    'to_uri': b'sip:bob@[2001:db8::20]',
    'to_tag': None,
    'call_id': b'5a2b8c1d7e3f@[2001:db8::1]',
    'cseq': (1, 'INVITE'),
    'contacts': [b'sip:alice@[2001:db8::1]:5060;transport=udp'],
    'record_routes': [b'sip:[2001:db8::10];lr'],
    'max_forwards': 69,
    'content_type': 'application/sdp',
    'body_len': 211,
    'body_contains': [b'c=IN IP6 2001:db8::1\r\n'],
}
