# SPDX-License-Identifier: GPL-2.0-or-later
"""BYE from the caller of reply_200_invite_record_route: the route set is its Record-Route
reversed, over three Route lines (one with two values).
"""

expect = {
    'request': True,
    'method': 'BYE',
    'ruri': b'sip:2002@198.51.100.30:5060',
    'via_branch': b'z9hG4bK-k0mq2a5zd3n1',
    'from_tag': b'h3ljt0wbvb',
    'to_tag': b'as7d1e2f3a',
    'call_id': b'3c26700b4c0e-jj9k9ulxhtqm',
    'cseq': (3, 'BYE'),
    'routes': [b'sip:edge.example.com;lr',
               b'sip:198.51.100.1;r2=on;lr;ftag=h3ljt0wbvb',
               b'sip:198.51.100.1;transport=tcp;r2=on;lr;ftag=h3ljt0wbvb',
               b'sip:203.0.113.10;r2=on;lr;ftag=h3ljt0wbvb'],
    'route_lr': [True, True, True, True],
    'record_routes': [],
    'contacts': [],
    'header_count': {'Route': 3},
    'max_forwards': 70,
    'body_len': 0,
    'content_type': None,
    'headers': {'Reason': b'Q.850;cause=16;text="Normal call clearing"'},
}
