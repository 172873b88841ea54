# SPDX-License-Identifier: GPL-2.0-or-later
"""Asterisk CANCEL of the INVITE answered by reply_183_sdp: same branch, no To tag.
"""

expect = {
    'request': True,
    'method': 'CANCEL',
    'ruri': b'sip:+15555550199@trunk.example.net',
    'via_branch': b'z9hG4bKPj1e2d3c4b-5a69-4f8e-a7b6-c5d4e3f2a1b0',
    'via_rport': b'',
    'via_port': 5060,
    'from_tag': b'8b7c6d5e-4f3a-4b2c-9d1e-0f1a2b3c4d5e',
    'to_tag': None,
    'call_id': b'0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0',
    'cseq': (9843, 'CANCEL'),
    'max_forwards': 70,
    'body_len': 0,
    'content_length': 0,
}
