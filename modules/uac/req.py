# SPDX-License-Identifier: GPL-2.0-or-later
"""uac part: req (being written)."""

FUNCS = []
