# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy: a SIP proxy in Python with Kamailio's architecture and config language."""

__version__ = "0.1.0"
