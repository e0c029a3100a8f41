"""Every package folder of the app is in pyproject's explicit package list, so a regular (non-editable) install
carries it. An editable install finds every folder anyway, which is how a missing entry went unnoticed: the
installed app then failed at `ollama-mcp-tray welcome` with "No module named ...gui.windows"."""

from __future__ import annotations

from pathlib import Path

import tomlkit

ROOT = Path(__file__).resolve().parents[2]


def declared() -> tuple[set[str], dict[str, str]]:
    """The package list and the package-to-folder map of [tool.setuptools]."""
    setuptools = tomlkit.parse((ROOT / "pyproject.toml").read_text(encoding="utf-8")).unwrap()["tool"]["setuptools"]
    return set(setuptools["packages"]), dict(setuptools["package-dir"])


def test_every_package_folder_is_listed_for_a_regular_install() -> None:
    packages, dirs = declared()
    found: set[str] = set()
    for dotted, folder in dirs.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((dotted, *relative)))
    assert "ollama_mcp_tray.tray.gui.windows" in found
    assert found - packages == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert packages - found == set(), "these listed packages have no folder"
