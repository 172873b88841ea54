# SPDX-License-Identifier: GPL-2.0-or-later
"""snom D785 INVITE with an SDP offer; user=phone in R-URI and To.
"""

expect = {
    'request': True,
    'method': 'INVITE',
    'ruri': b'sip:2002@pbx.example.com;user=phone',
    'ruri_user': b'2002',
    'ruri_host': b'pbx.example.com',
    'ruri_params': {'user': b'phone'},
    'via_branch': b'z9hG4bK-gr4gr1osp1x7',
    'via_count': 1,
    'via_rport': b'',
    'from_uri': b'sip:2005@pbx.example.com',
    'from_tag': b'h3ljt0wbvb',
    'from_display': 'Snom Desk',
    'to_uri': b'sip:2002@pbx.example.com;user=phone',
    'to_tag': None,
    'call_id': b'3c26700b4c0e-jj9k9ulxhtqm',
    'cseq': (1, 'INVITE'),
    'contacts': [b'sip:2005@192.0.2.105:5060;line=xqkvm2p1'],
    'contact_params': [{'reg-id': b'1'}],
    'supported': ['timer', '100rel', 'replaces', 'from-change'],
    'max_forwards': 70,
    'content_type': 'application/sdp',
    'body_len': 313,
    'body_startswith': b'v=0\r\no=root 1594470284',
    'headers': {'Session-Expires': b'3600',
                'Min-SE': b'90',
                'P-Key-Flags': b'keys="3"',
                'X-Serialnumber': b'000413a1b2c3'},
}
