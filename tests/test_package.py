"""The top-level package: public names stay what they are after every subpackage
is imported (a subpackage named like a public function would replace it)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import hypersearch as hs


def test_importing_subpackages_never_shadows_public_names():
    before = {name: getattr(hs, name) for name in hs.__all__ if name not in hs._LAZY}
    for mod in pkgutil.walk_packages(hs.__path__, "hypersearch."):
        if mod.name.endswith("__main__") or mod.name.startswith(("hypersearch.integrations.", "hypersearch.execution.ray")):
            continue  # entry points run on import; optional libraries are imported by theirs
        importlib.import_module(mod.name)
    for name, obj in before.items():
        assert getattr(hs, name) is obj, f"hs.{name} was replaced by importing a submodule"
    assert callable(hs.report) and callable(hs.tune)


def test_import_stays_light():
    code = (
        "import sys, hypersearch\n"
        "heavy = [m for m in ('torch', 'sklearn', 'plotly', 'matplotlib', 'ray', 'pandas', 'flask',"
        " 'transformers') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
