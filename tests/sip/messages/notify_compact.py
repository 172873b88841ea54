# SPDX-License-Identifier: GPL-2.0-or-later
"""Asterisk NOTIFY for subscribe_compact in compact form (c: and l:), dialog-info XML body
with LF line ends.
"""

expect = {
    'request': True,
    'method': 'NOTIFY',
    'ruri': b'sip:2002@192.0.2.102:5062',
    'via_branch': b'z9hG4bKPj4b2a0c9d-8e7f-4a61-b5c4-d3e2f1a0b9c8',
    'via_rport': b'',
    'from_tag': b'60f1e2d3-c4b5-4a69-8788-96a5b4c3d2e1',
    'to_tag': b'3412851177',
    'call_id': b'1918272635@192.0.2.102',
    'cseq': (17312, 'NOTIFY'),
    'contacts': [b'sip:198.51.100.10:5060'],
    'content_type': 'application/dialog-info+xml',
    'body_len': 250,
    'body_contains': [b'<state>confirmed</state>\n'],
    'headers': {'Event': b'dialog',
                'Subscription-State': b'active;expires=1800',
                'Content-Type': b'application/dialog-info+xml'},
}
