# SPDX-License-Identifier: GPL-2.0-or-later
"""The one exception the SIP layer raises for bad input."""


class ParseError(ValueError):
    """Malformed SIP: carries the status a server should answer with.

    `reason` is a short human text for logs and the reply's reason phrase
    extension; `status` is 400 in most cases, 505 for an unknown SIP version.
    """

    __slots__ = ("reason", "status")

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.status = status

    def __reduce__(self):
        return (ParseError, (self.reason, self.status))
