# SPDX-License-Identifier: GPL-2.0-or-later
"""ACK for the 487 that followed cancel_asterisk: same branch as the INVITE, To tag from the
487, CSeq number of the INVITE.
"""

expect = {
    'request': True,
    'method': 'ACK',
    'ruri': b'sip:+15555550199@trunk.example.net',
    'via_branch': b'z9hG4bKPj1e2d3c4b-5a69-4f8e-a7b6-c5d4e3f2a1b0',
    'to_tag': b'gK0a1b2c3d',
    'cseq': (9843, 'ACK'),
    'call_id': b'0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0',
    'max_forwards': 70,
    'body_len': 0,
    'contacts': [],
}
