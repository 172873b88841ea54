# SPDX-License-Identifier: GPL-2.0-or-later
"""Kamailio dispatcher OPTIONS keepalive to a gateway (Kamailio's own header order).
"""

expect = {
    'request': True,
    'method': 'OPTIONS',
    'ruri': b'sip:198.51.100.20:5060',
    'ruri_user': None,
    'ruri_host': b'198.51.100.20',
    'ruri_port': 5060,
    'via_branch': b'z9hG4bK5c2a.1f0e9d8c7b6a5948.0',
    'via_port': 5060,
    'from_uri': b'sip:ping@sip.example.com',
    'to_uri': b'sip:198.51.100.20:5060',
    'to_tag': None,
    'cseq': (10, 'OPTIONS'),
    'call_id': b'6b1d0c2e7a3f9b84-12345@192.0.2.10',
    'max_forwards': 70,
    'body_len': 0,
    'expires': None,
    'keys': ['via',
             'to',
             'from',
             'cseq',
             'call-id',
             'max-forwards',
             'content-length',
             'user-agent'],
    'headers': {'User-Agent': b'kamailio (5.7.4 (x86_64/linux))'},
}
