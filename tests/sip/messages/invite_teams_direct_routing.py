# SPDX-License-Identifier: GPL-2.0-or-later
"""Microsoft Teams Direct Routing INVITE to an SBC over TLS: upper-case header names, long
X-MS-* headers, ICE/SRTP SDP.
"""

expect = {
    'request': True,
    'method': 'INVITE',
    'ruri': b'sip:+15555550142@sbc1.example.com:5061;user=phone;transport=tls',
    'ruri_params': {'user': b'phone', 'transport': b'tls'},
    'ruri_transport': 'tls',
    'via_transport': 'TLS',
    'via_host': b'203.0.113.70',
    'via_port': 5061,
    'via_branch': b'z9hG4bKc7d8e9f0',
    'via_count': 1,
    'from_uri': b'sip:+15555550100@sip.pstnhub.example.net:5061;user=phone;transport=tls',
    'from_tag': b'3a9f1b2c4d5e4f60a7b8c9d0e1f2a3b4',
    'to_tag': None,
    'call_id': b'6f1e2d3c4b5a49687f8e9d0c1b2a3948',
    'cseq': (1, 'INVITE'),
    'contacts': [b'sip:sip-du-a-us.pstnhub.example.net:5061;transport=tls'],
    'record_routes': [b'sip:sip-du-a-us.pstnhub.example.net:5061;transport=tls;lr'],
    'pai': [b'tel:+15555550100'],
    'max_forwards': 70,
    'content_type': 'application/sdp',
    'body_len': 870,
    'allow': ['INVITE', 'ACK', 'OPTIONS', 'CANCEL', 'BYE', 'NOTIFY'],
    'header_min_len': {'X-MS-RoutingPolicies': 700},
    'headers': {'X-MS-UserLocation': b'internal', 'Session-Expires': b'3600', 'min-se': b'1800'},
    'body_contains': [b'a=candidate:1 1 UDP 2130706431 203.0.113.71 49152 typ host\r\n'],
}
