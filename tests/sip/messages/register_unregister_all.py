# SPDX-License-Identifier: GPL-2.0-or-later
"""Polycom REGISTER removing every binding: Contact: *, Expires: 0, Digest with an empty
opaque.
"""

expect = {
    'request': True,
    'method': 'REGISTER',
    'ruri': b'sip:pbx.example.com',
    'contacts': '*',
    'expires': 0,
    'cseq': (3, 'REGISTER'),
    'from_tag': b'5A1E3C7B-9D2F4E61',
    'to_tag': None,
    'authorization': {'username': '2001',
                      'realm': 'pbx.example.com',
                      'opaque': '',
                      'qop': 'auth',
                      'nc': '00000002',
                      'cnonce': 'kLjoYEmmzKDbHZo',
                      'uri': 'sip:pbx.example.com',
                      'algorithm': 'MD5'},
    'headers': {'Contact': b'*'},
    'max_forwards': 70,
    'body_len': 0,
}
