# SPDX-License-Identifier: GPL-2.0-or-later
"""The configuration language: preprocessor, parser, compiler, PVs, transformations."""
