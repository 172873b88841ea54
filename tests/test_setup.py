# SPDX-License-Identifier: GPL-2.0-or-later
"""The set-up promises: tools the tests drive are installed, the package
(normal and editable installs) finds kampy.modules, the CLI answers."""

import os
import pathlib
import subprocess
import sys
import zipfile

from toolcheck import require_tool

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_sipp_is_installed():
    sipp = require_tool("sipp")
    out = subprocess.run([sipp, "-v"], capture_output=True, text=True, timeout=20)
    assert "SIPp" in out.stdout + out.stderr


def test_postgresql_server_is_installed():
    for tool in ("postgres", "initdb", "pg_ctl"):
        require_tool(tool)


def test_kampy_modules_importable():
    import kampy.loader
    pkg = kampy.loader.modules_package()
    assert os.path.samefile(pkg.__path__[0], ROOT / "modules")
    assert "sl" in kampy.loader.builtin_modules()


def test_wheel_contains_modules_as_kampy_modules(tmp_path):
    """A normal install: the wheel maps modules/ to kampy/modules/."""
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("kampy-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "kampy/modules/__init__.py" in names
    assert "kampy/modules/sl/__init__.py" in names
    assert "kampy/sip/message.py" in names
    assert not any(n.startswith("modules/") for n in names)


def test_cli_version_and_check():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "kampy.cli", "-V"], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("kampy ")
    out = subprocess.run([sys.executable, "-m", "kampy.cli", "-c", "-f", "etc/kampy.cfg"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
