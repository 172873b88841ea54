# SPDX-License-Identifier: GPL-2.0-or-later
"""Finding and loading modules named by `loadmodule`.

`loadmodule "sl.so"`, `"sl"` and `"/path/to/mymod.py"` all work.  A name is
looked up first on `mpath` as a Python file or package (a user's module), then
among kampy's built-in modules.  An `mpath` that points at Kamailio's own
module folder (full of .so files) is harmless: the .so files are skipped and
kampy's module of that name is used.
"""

import importlib
import importlib.util
import os
import sys

from .module import Module

# Kamailio module names whose job kampy's core does, or which kampy merges
BUILTIN_ALIASES = {
    "kex": "kex", "corex": "corex", "pv": "pv", "tmx": "tmx", "textopsx": "textopsx",
}


class ModuleNotFound(Exception):
    pass


def modules_package():
    """`kampy.modules`: installed (normal or editable) or, in a source
    checkout run without installing, the `modules/` folder beside `kampy/`."""
    try:
        return importlib.import_module("kampy.modules")
    except ModuleNotFoundError as e:
        if e.name != "kampy.modules":
            raise
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(os.path.dirname(here), "modules")
    init = os.path.join(src, "__init__.py")
    if not os.path.isfile(init):
        raise ModuleNotFound("kampy.modules is not installed")
    spec = importlib.util.spec_from_file_location("kampy.modules", init, submodule_search_locations=[src])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules["kampy.modules"] = pkg
    spec.loader.exec_module(pkg)
    import kampy
    kampy.modules = pkg
    return pkg


def module_base(name: str) -> str:
    """`"/usr/lib/kamailio/modules/sl.so"` → `"sl"`."""
    base = os.path.basename(name.rstrip("/"))
    for ext in (".so", ".py"):
        if base.endswith(ext):
            base = base[:-len(ext)]
    return base


def _load_file(path: str, base: str):
    if os.path.isdir(path):
        path = os.path.join(path, "__init__.py")
    modname = "kampy_user_module_" + base
    spec = importlib.util.spec_from_file_location(
        modname, path, submodule_search_locations=[os.path.dirname(path)] if path.endswith("__init__.py") else None)
    if spec is None or spec.loader is None:
        raise ModuleNotFound("cannot load %s" % path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


def find_and_load(name: str, mpath: list) -> Module:
    """The Module exported by the module called `name` (raises ModuleNotFound)."""
    base = module_base(name)
    pymod = None
    candidates = []
    if name.endswith(".py") or (os.sep in name and not name.endswith(".so")):
        candidates.append(name)
    for d in mpath:
        candidates.append(os.path.join(d, base + ".py"))
        candidates.append(os.path.join(d, base))
    for c in candidates:
        if c.endswith(".py") and os.path.isfile(c):
            pymod = _load_file(c, base)
            break
        if os.path.isfile(os.path.join(c, "__init__.py")):
            pymod = _load_file(c, base)
            break
    if pymod is None:
        if not base.replace("_", "").isalnum():
            raise ModuleNotFound("module '%s' not found" % name)
        modules_package()
        try:
            pymod = importlib.import_module("kampy.modules." + BUILTIN_ALIASES.get(base, base))
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("kampy.modules"):
                raise ModuleNotFound("module '%s' not found (not on mpath, not one of kampy's modules)"
                                     % base) from None
            raise
    refusal = getattr(pymod, "UNSUPPORTED_MODULE", None)
    if refusal:      # a Kamailio module kampy knows but does not offer (db_mysql)
        raise ModuleNotFound(refusal)
    exports = getattr(pymod, "exports", None)
    if not isinstance(exports, Module):
        raise ModuleNotFound("%s has no `exports = Module(...)`" % name)
    return exports


def builtin_modules() -> list:
    pkg = modules_package()
    out = []
    for d in pkg.__path__:
        for entry in sorted(os.listdir(d)):
            if os.path.isfile(os.path.join(d, entry, "__init__.py")):
                out.append(entry)
    return out
