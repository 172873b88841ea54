# SPDX-License-Identifier: GPL-2.0-or-later
"""SBC 503 with Retry-After (comment and duration), Q.850 Reason and Warning.
"""

expect = {
    'request': False,
    'status': 503,
    'reason': b'Service Unavailable',
    'via_branch': b'z9hG4bKPj9a8b7c6d-5e4f-4321-a0b9-c8d7e6f5a4b3',
    'via_received': b'198.51.100.10',
    'from_tag': b'2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
    'to_tag': b'sbc0503a1',
    'call_id': b'7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928',
    'cseq': (211, 'INVITE'),
    'retry_after': 300,
    'retry_after_comment': b'(Maintenance window)',
    'retry_after_duration': 1800,
    'body_len': 0,
    'headers': {'Warning': b'399 sbc.example.net "Overload control: calls per second limit reache'
                           b'd"',
                'Reason': b'Q.850;cause=34;text="No circuit/channel available"'},
}
