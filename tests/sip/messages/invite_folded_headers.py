# SPDX-License-Identifier: GPL-2.0-or-later
"""INVITE from an old UA that folds long headers (RFC 3261 7.3.1): Via params, To display
name, From with a TAB, a three-line Subject and a two-line Contact.
"""

expect = {
    'request': True,
    'method': 'INVITE',
    'ruri': b'sip:carol@chicago.example.com',
    'via_count': 1,
    'via_host': b'192.0.2.130',
    'via_port': 5060,
    'via_branch': b'z9hG4bKnashds7',
    'via_rport': b'',
    'to_uri': b'sip:carol@chicago.example.com',
    'to_display': 'Carol',
    'to_tag': None,
    'from_uri': b'sip:oldphone@example.net',
    'from_display': 'Old Phone',
    'from_tag': b'1a2b3c',
    'call_id': b'f0e1d2c3b4a59687@192.0.2.130',
    'cseq': (1, 'INVITE'),
    'contacts': [b'sip:oldphone@192.0.2.130', b'sip:oldphone@198.51.100.130'],
    'contact_q': [None, 0.5],
    'max_forwards': 70,
    'body_len': 0,
    'keys': ['via',
             'max-forwards',
             'to',
             'from',
             'call-id',
             'cseq',
             'subject',
             'contact',
             'content-length'],
    'headers': {'Subject': b"I know you're there, pick up the phone and talk to me!",
                's': b"I know you're there, pick up the phone and talk to me!"},
}
