# SPDX-License-Identifier: GPL-2.0-or-later
"""Carrier trunk INVITE through one proxy: P-Asserted-Identity (sip + tel), Diversion,
Privacy, Remote-Party-ID, P-Charging-Vector.
"""

expect = {
    'request': True,
    'method': 'INVITE',
    'ruri': b'sip:+498912345678@198.51.100.10:5060;user=phone',
    'ruri_user': b'+498912345678',
    'ruri_host': b'198.51.100.10',
    'ruri_port': 5060,
    'ruri_host_type': 'ipv4',
    'via_count': 2,
    'via_branch': b'z9hG4bK8e1f.3b6a9c2d4e5f0718.0',
    'via_host': b'203.0.113.10',
    'vias': [{'host': b'203.0.113.10', 'port': 5060, 'received': None},
             {'host': b'203.0.113.20',
              'received': b'203.0.113.20',
              'rport': b'5060',
              'branch': b'z9hG4bK7a3c5e91'}],
    'from_uri': b'sip:+15555550123@sbc.example.net;user=phone',
    'from_display': '+15555550123',
    'from_tag': b'as5f3a2b1c',
    'to_tag': None,
    'call_id': b'1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f60@203.0.113.20',
    'cseq': (102, 'INVITE'),
    'contacts': [b'sip:+15555550123@203.0.113.20:5060;transport=udp'],
    'record_routes': [b'sip:203.0.113.10;lr;ftag=as5f3a2b1c;did=8e1.9a2'],
    'routes': [],
    'pai': [b'sip:+15555550123@sbc.example.net;user=phone', b'tel:+15555550123'],
    'max_forwards': 68,
    'content_type': 'application/sdp',
    'body_len': 309,
    'header_count': {'P-Asserted-Identity': 2, 'Via': 2, 'Diversion': 1},
    'headers': {'Diversion': b'<sip:+498912345600@sbc.example.net;user=phone>;reason=unconditio'
                             b'nal;counter=1;privacy=off',
                'Privacy': b'id',
                'Remote-Party-ID': b'"John Doe" <sip:+15555550123@sbc.example.net;user=phone>;par'
                                   b'ty=calling;screen=yes;privacy=full',
                'Session-Expires': b'1800;refresher=uac'},
}
