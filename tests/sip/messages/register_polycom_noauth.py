# SPDX-License-Identifier: GPL-2.0-or-later
"""Polycom VVX 411 first REGISTER (no credentials yet), UDP, methods= Contact param.
"""

expect = {
    'request': True,
    'method': 'REGISTER',
    'ruri': b'sip:pbx.example.com',
    'ruri_host': b'pbx.example.com',
    'ruri_user': None,
    'via_count': 1,
    'via_branch': b'z9hG4bK3a7f8c1e2b4d9071',
    'via_transport': 'UDP',
    'via_host': b'192.0.2.101',
    'via_port': 5060,
    'via_rport': b'',
    'from_uri': b'sip:2001@pbx.example.com',
    'from_tag': b'8C4F7B2A-1D3E5F60',
    'from_display': 'Reception',
    'to_uri': b'sip:2001@pbx.example.com',
    'to_tag': None,
    'call_id': b'4d2c6a1e-9f3b7c58-e01a2b3c@192.0.2.101',
    'cseq': (1, 'REGISTER'),
    'contacts': [b'sip:2001@192.0.2.101:5060;transport=udp'],
    'contact_params': [{'methods': b'"INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, MESSAGE, SUBSCRIBE'
                                   b', NOTIFY, PRACK, UPDATE, REFER"',
                        'expires': None}],
    'max_forwards': 70,
    'expires': 3600,
    'content_length': 0,
    'body_len': 0,
    'content_type': None,
    'headers': {'User-Agent': b'PolycomVVX-VVX_411-UA/6.4.3.5018',
                'Authorization': None,
                'Allow-Events': b'talk,hold,conference,LocalModeStatus'},
}
