# SPDX-License-Identifier: GPL-2.0-or-later
"""Lync/Skype for Business front end 200 OK to a REGISTER over TLS: ms-* headers, TLS-DSK
Authentication-Info, quoted gruu Contact param holding ';' and ':', Supported repeated on
three lines.
"""

expect = {
    'request': False,
    'status': 200,
    'reason': b'OK',
    'via_transport': 'TLS',
    'via_host': b'192.0.2.120',
    'via_port': 51234,
    'via_branch': b'z9hG4bK5b6c7d8e',
    'vias': [{'params': {'ms-received-port': b'51234', 'ms-received-cid': b'2A3B00'}}],
    'from_tag': b'7f3a9c1e2b',
    'from_params': {'epid': b'4d5e6f7a8b'},
    'to_tag': b'9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D',
    'call_id': b'0123456789abcdef0123456789abcdef',
    'cseq': (3, 'REGISTER'),
    'contacts': [b'sip:192.0.2.120:51234;transport=tls;ms-opaque=1a2b3c4d5e;ms-received-cid=2A3'
                 b'B00'],
    'contact_params': [{'expires': b'7200',
                        'gruu': b'"sip:alice@example.com;opaque=user:epid:KZx8r4VwMl2cQ7YtNb1aHgAA'
                                b';gruu"'}],
    'contact_expires': [7200],
    'supported': ['adhoclist', 'msrtc-event-categories', 'ms-keep-alive'],
    'header_count': {'Supported': 3},
    'expires': 7200,
    'body_len': 0,
    'headers': {'ms-user-logon-data': b'RemoteUser',
                'presence-state': b'register-action="added"',
                'ms-keep-alive': b'UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300'},
}
