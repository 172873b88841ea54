# SPDX-License-Identifier: GPL-2.0-or-later
"""Asterisk 20 (res_pjsip) 401 to a REGISTER with two WWW-Authenticate headers, SHA-256 first
then MD5; PJSIP's 'Content-Length:  0' with two spaces.
"""

expect = {
    'request': False,
    'status': 401,
    'reason': b'Unauthorized',
    'method': None,
    'ruri': None,
    'via_branch': b'z9hG4bK1842360530',
    'via_received': b'192.0.2.102',
    'via_rport': b'5062',
    'from_tag': b'1259638907',
    'to_tag': b'z9hG4bK1842360530',
    'call_id': b'0_2765132184@192.0.2.102',
    'cseq': (1, 'REGISTER'),
    'www_authenticate': [{'scheme': 'Digest',
                          'realm': 'pbx.example.com',
                          'algorithm': 'SHA-256',
                          'nonce': '1732681540/7c6b1e3d5a2f4e9b8c0d1a2b3c4d5e6f',
                          'opaque': '3f2a1b0c9d8e7f6a',
                          'qop': ['auth'],
                          'stale': False},
                         {'scheme': 'Digest',
                          'realm': 'pbx.example.com',
                          'algorithm': 'MD5',
                          'qop': ['auth']}],
    'header_count': {'WWW-Authenticate': 2, 'Proxy-Authenticate': 0},
    'content_length': 0,
    'body_len': 0,
    'headers': {'Server': b'Asterisk PBX 20.5.0', 'Content-Length': b'0'},
}
