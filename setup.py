# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy packaging: the core `kampy`, the loadable modules as `kampy.modules`."""

from setuptools import setup, find_packages

core = find_packages(include=["kampy", "kampy.*"])
mods = ["kampy.modules" + p[len("modules"):] for p in find_packages(include=["modules", "modules.*"])]

setup(
    name="kampy",
    version="0.1.0",
    description="A SIP proxy in Python with Kamailio's architecture and configuration language",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    packages=core + ["kampy.modules"] + [m for m in mods if m != "kampy.modules"],
    package_dir={"kampy.modules": "modules"},
    package_data={"kampy.modules": ["*/README.md", "*/*.sql"]},
    install_requires=["msgpack>=1.0", "psycopg[binary]>=3.1", "setproctitle>=1.3"],
    extras_require={"test": ["pytest>=7", "hypothesis>=6", "wheel", "setuptools>=61"]},
    entry_points={"console_scripts": [
        "kampy=kampy.cli:main",
        "kampyctl=kampy.ctl:main",
    ]},
)
