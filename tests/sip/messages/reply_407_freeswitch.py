# SPDX-License-Identifier: GPL-2.0-or-later
"""FreeSWITCH (mod_sofia) 407 to an INVITE: one Proxy-Authenticate, long Allow-Events.
"""

expect = {
    'request': False,
    'status': 407,
    'reason': b'Proxy Authentication Required',
    'via_branch': b'z9hG4bK-gr4gr1osp1x7',
    'via_received': b'203.0.113.45',
    'via_rport': b'5060',
    'from_tag': b'h3ljt0wbvb',
    'to_tag': b'Z2S8eK3vQ7rSg',
    'call_id': b'3c26700b4c0e-jj9k9ulxhtqm',
    'cseq': (1, 'INVITE'),
    'proxy_authenticate': [{'scheme': 'Digest',
                            'realm': 'pbx.example.com',
                            'nonce': '8f1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8',
                            'algorithm': 'MD5',
                            'qop': ['auth'],
                            'opaque': None}],
    'header_count': {'WWW-Authenticate': 0},
    'supported': ['timer', 'path', 'replaces'],
    'body_len': 0,
    'headers': {'User-Agent': b'FreeSWITCH-mod_sofia/1.10.11-release~64bit'},
}
