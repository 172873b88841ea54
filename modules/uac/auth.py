# SPDX-License-Identifier: GPL-2.0-or-later
"""uac part: auth (being written)."""

FUNCS = []
