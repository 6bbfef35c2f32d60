"""The report's optional dependencies (the `report` extra): one clear line when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import PostkinError

INSTALL_HINT = "pip install 'postkin[report]'"


def require(module: str, package: str) -> ModuleType:
    """Import `module`, or raise PostkinError naming the distribution `package` and the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise PostkinError(f"postkin report needs {package}, which is not installed: {INSTALL_HINT}") from None
