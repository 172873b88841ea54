# SPDX-License-Identifier: GPL-2.0-or-later
"""Zoiper 5 INVITE: rinstance/ob in the Contact URI, +sip.instance, reg-id and a bare feature
tag as Contact params; quoted display with no space before '<'.
"""

expect = {
    'request': True,
    'method': 'INVITE',
    'ruri': b'sip:200@pbx.example.org;transport=UDP',
    'ruri_user': b'200',
    'ruri_params': {'transport': b'UDP'},
    'via_branch': b'z9hG4bK-524287-1---6f2a8c1d0e9b4a37',
    'via_port': 56789,
    'from_uri': b'sip:alice@pbx.example.org;transport=UDP',
    'from_display': 'Alice',
    'from_tag': b'5b3f8a1c',
    'to_tag': None,
    'call_id': b'Y2E4ZjE3NzRmZTcxYzMxNDc1NTI2ZWUzNDkyNDg2NDM',
    'cseq': (1, 'INVITE'),
    'contacts': [b'sip:alice@192.0.2.106:56789;transport=UDP;rinstance=8a7b6c5d4e3f2a1b;ob'],
    'contact_params': [{'+sip.instance': b'"<urn:uuid:7f1c2a4e-9b3d-4e5f-8a6b-0c1d2e3f4a5b>"',
                        'reg-id': b'1',
                        '+sip.ice': b'',
                        'q': b'0.8',
                        'expires': None}],
    'contact_q': [0.8],
    'max_forwards': 70,
    'content_type': 'application/sdp',
    'body_len': 343,
    'headers': {'User-Agent': b'Z 5.6.1 v2.10.19.9'},
}
