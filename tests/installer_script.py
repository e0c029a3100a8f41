"""`packaging/install.py` loaded as a module, for tests of its functions (it is a script, not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

INSTALLER = Path(__file__).resolve().parent.parent / "packaging" / "install.py"


def load_installer() -> ModuleType:
    """A fresh copy of the installer module, registered so its dataclasses can find it."""
    spec = importlib.util.spec_from_file_location("install_script", INSTALLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
