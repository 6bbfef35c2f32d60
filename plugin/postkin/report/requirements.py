"""The report's optional dependencies (the `report` extra): one clear line when one is missing."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from ..errors import PostkinError

INSTALL_HINT = "pip install 'postkin[report]'"
# import name -> distribution, for every package of the extra
PACKAGES = {"sklearn": "scikit-learn", "bokeh": "bokeh", "rapidfuzz": "rapidfuzz"}


def missing() -> list[str]:
    """The extra's distributions that are not installed, found without importing them (a build that
    will write a report checks this before it starts, through the `report` setting)."""
    out = []
    for module, package in PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package that fails, or a module without a spec
            found = False
        if not found:
            out.append(package)
    return out


def require(module: str, package: str) -> ModuleType:
    """Import `module`, or raise PostkinError naming the distribution `package` and the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise PostkinError(f"postkin report needs {package}, which is not installed: {INSTALL_HINT}") from None
