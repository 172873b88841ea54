# SPDX-License-Identifier: GPL-2.0-or-later
"""183 Session Progress with early media SDP from a trunk, reliable (100rel: Require, RSeq),
P-Early-Media, Content-Disposition.
"""

expect = {
    'request': False,
    'status': 183,
    'reason': b'Session Progress',
    'via_branch': b'z9hG4bKPj1e2d3c4b-5a69-4f8e-a7b6-c5d4e3f2a1b0',
    'via_received': b'198.51.100.10',
    'via_rport': b'5060',
    'from_uri': b'sip:2001@pbx.example.com',
    'from_tag': b'8b7c6d5e-4f3a-4b2c-9d1e-0f1a2b3c4d5e',
    'to_uri': b'sip:+15555550199@trunk.example.net',
    'to_tag': b'gK0a1b2c3d',
    'call_id': b'0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0',
    'cseq': (9843, 'INVITE'),
    'record_routes': [b'sip:203.0.113.5:5060;transport=udp;lr'],
    'contacts': [b'sip:+15555550199@203.0.113.5:5060;transport=udp'],
    'require': ['100rel'],
    'content_type': 'application/sdp',
    'body_len': 212,
    'body_contains': [b'a=sendonly\r\n'],
    'headers': {'RSeq': b'1',
                'P-Early-Media': b'sendonly',
                'Content-Disposition': b'session;handling=required'},
}
