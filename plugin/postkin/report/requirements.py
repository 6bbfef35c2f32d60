"""The report's optional dependencies (the `report` extra): one clear line when one is missing."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from ..errors import PostkinError, SettingsError

INSTALL_HINT = "pip install 'postkin[report]'"
# import name -> distribution, for every package of the extra
PACKAGES = {"sklearn": "scikit-learn", "bokeh": "bokeh", "rapidfuzz": "rapidfuzz"}


def missing() -> list[str]:
    """The extra's distributions that are not installed, found without importing them."""
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


def check_installed(source: str) -> None:
    """For a host whose build will write the report (the `report` setting, set in `source`): raise
    SettingsError before the build, not after it, when a package of the extra is missing. Only those
    hosts check: the pre-commit hook and eval read the same settings file and need no extra."""
    absent = missing()
    if absent:
        raise SettingsError(f"{source}: setting 'report' needs {', '.join(absent)}, which is not installed: "
                            f"{INSTALL_HINT}, or remove the setting")
