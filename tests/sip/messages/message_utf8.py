# SPDX-License-Identifier: GPL-2.0-or-later
"""Linphone MESSAGE over TCP with a UTF-8 text body and a UTF-8 display name; To as a bare
addr-spec.
"""

expect = {
    'request': True,
    'method': 'MESSAGE',
    'ruri': b'sip:bob@example.org',
    'via_transport': 'TCP',
    'via_branch': b'z9hG4bK.Tx3VbVq4b',
    'via_rport': b'',
    'from_display': 'Jürgen Müller',
    'from_tag': b'Zq1bV~h0K',
    'to_uri': b'sip:bob@example.org',
    'to_tag': None,
    'to_display': '',
    'call_id': b'6LjGq~3pXk',
    'cseq': (20, 'MESSAGE'),
    'content_type': 'text/plain',
    'content_type_params': {'charset': b'UTF-8'},
    'body_len': 58,
    'body_text': 'Grüße aus München! 東京で会いましょう ☎ 👍',
    'supported': ['replaces', 'outbound', 'gruu', 'path'],
}
