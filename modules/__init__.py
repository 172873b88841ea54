# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy's loadable modules, one package each (installed as kampy.modules)."""
