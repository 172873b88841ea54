# SPDX-License-Identifier: GPL-2.0-or-later
"""SIP-I INVITE from a media gateway controller: multipart/mixed with SDP and a binary
application/ISUP IAM (NUL, 0xff and CR LF CR LF inside the body).
"""

expect = {
    'request': True,
    'method': 'INVITE',
    'ruri': b'sip:+33122134567@198.51.100.40;user=phone',
    'via_branch': b'z9hG4bK0b1c2d3e4f',
    'via_count': 1,
    'from_tag': b'b1c2d3e4-13c4-5f6a',
    'to_tag': None,
    'call_id': b'a1b2c3d4-e5f6-7081-92a3-b4c5d6e7f809@203.0.113.30',
    'cseq': (1, 'INVITE'),
    'contacts': [b'sip:+4932496578@203.0.113.30:5060;transport=udp'],
    'allow': ['INVITE', 'ACK', 'CANCEL', 'BYE', 'PRACK', 'UPDATE', 'INFO', 'OPTIONS'],
    'supported': ['100rel', 'timer'],
    'content_type': 'multipart/mixed',
    'content_type_params': {'boundary': b'unique-boundary-1'},
    'body_len': 431,
    'body_startswith': b'--unique-boundary-1\r\nContent-Type: application/sdp\r\n',
    'body_endswith': b'\r\n--unique-boundary-1--\r\n',
    'body_contains': [b'Content-Type: application/ISUP;version=itu-t92+;base=itu-t92+\r\n',
                      b'\x01\x00`\x01\n\x00\x02\n\x08',
                      b'\x04\r\n\r\n9\x02\xff\x80\x00'],
    'headers': {'MIME-Version': b'1.0'},
}
