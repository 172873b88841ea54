# SPDX-License-Identifier: GPL-2.0-or-later
"""uac part: replace (being written)."""

FUNCS = []
