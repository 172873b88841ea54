# SPDX-License-Identifier: GPL-2.0-or-later
"""Kamailio registrar 200 OK listing two bindings with expires and q, a Path echo and a long
To tag.
"""

expect = {
    'request': False,
    'status': 200,
    'reason': b'OK',
    'via_received': b'192.0.2.103',
    'via_rport': b'5060',
    'to_tag': b'b27e1a1d33761e85846fc98f5f3a7e58.9c1d',
    'cseq': (2038, 'REGISTER'),
    'contacts': [b'sip:3003@192.0.2.103:5060;transport=udp', b'sip:3003@198.51.100.77:5062'],
    'contact_params': [{'expires': b'3600', 'reg-id': b'1', 'q': None},
                       {'expires': b'1200', 'q': b'0.5'}],
    'contact_expires': [3600, 1200],
    'contact_q': [None, 0.5],
    'header_count': {'Contact': 1, 'Path': 1},
    'body_len': 0,
}
