# SPDX-License-Identifier: GPL-2.0-or-later
"""200 OK to an INVITE as seen by a middle proxy: three Vias (two on one line), four
Record-Route entries on three lines (Kamailio double record-routing, r2=on).
"""

expect = {
    'request': False,
    'status': 200,
    'reason': b'OK',
    'via_count': 3,
    'via_transport': 'TCP',
    'via_host': b'198.51.100.1',
    'via_branch': b'z9hG4bK2f1e.5a6b7c8d9e0f1a2b.0',
    'vias': [{'transport': 'TCP', 'sent_by': b'198.51.100.1:5060'},
             {'transport': 'UDP', 'host': b'edge.example.com', 'port': None, 'rport': b'5060'},
             {'host': b'192.0.2.105',
              'received': b'203.0.113.45',
              'branch': b'z9hG4bK-gr4gr1osp1x8'}],
    'from_tag': b'h3ljt0wbvb',
    'to_tag': b'as7d1e2f3a',
    'call_id': b'3c26700b4c0e-jj9k9ulxhtqm',
    'cseq': (2, 'INVITE'),
    'record_routes': [b'sip:203.0.113.10;r2=on;lr;ftag=h3ljt0wbvb',
                      b'sip:198.51.100.1;transport=tcp;r2=on;lr;ftag=h3ljt0wbvb',
                      b'sip:198.51.100.1;r2=on;lr;ftag=h3ljt0wbvb',
                      b'sip:edge.example.com;lr'],
    'header_count': {'Record-Route': 3, 'Via': 2},
    'contacts': [b'sip:2002@198.51.100.30:5060'],
    'require': ['timer'],
    'content_type': 'application/sdp',
    'body_len': 216,
}
