"""When the environment's Python has no Tk, the installer names what gives it Tk for that very interpreter:
the distribution's package for the system's Python, a rebuild (or the system's Python) for pyenv and friends,
Homebrew's python-tk formula for Homebrew's Python, python.org's installer otherwise. Fast: no install."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.installer_script import load_installer


@pytest.fixture(scope="module")
def installer() -> ModuleType:
    return load_installer()


@pytest.mark.parametrize(
    ("family", "package"),
    [
        ("debian", "sudo apt install python3-tk"),
        ("fedora", "sudo dnf install python3-tkinter"),
        ("arch", "sudo pacman -S tk"),
        ("suse", "sudo zypper install python3-tk"),
        (None, "sudo apt install python3-tk"),
    ],
)
def test_the_systems_python_gets_the_distributions_package(
    installer: ModuleType, family: str | None, package: str
) -> None:
    hint = installer.tk_hint("linux", family, Path("/usr/bin/python3.11"))
    assert hint.startswith(f"run {package} ")
    assert "rebuild" not in hint


def test_a_python_built_apart_from_the_system_is_told_to_rebuild_or_switch(
    installer: ModuleType, tmp_path: Path
) -> None:
    pyenv = tmp_path / ".pyenv" / "versions" / "3.11.7" / "bin" / "python3.11"
    hint = installer.tk_hint("linux", "debian", pyenv)
    assert "not the system's Python" in hint
    assert "(tk-dev)" in hint
    assert "--uninstall" in hint and "/usr/bin/python3" in hint
    assert "(tk-devel)" in installer.tk_hint("linux", "fedora", Path("/usr/local/bin/python3.12"))


def test_a_symlink_is_judged_by_what_it_points_at(installer: ModuleType, tmp_path: Path) -> None:
    # A venv's python is a symlink: /usr/bin/python3 behind a link in a home folder is still the system's.
    system = Path("/usr/bin/python3")
    if not system.exists():
        pytest.skip("no /usr/bin/python3 here")
    link = tmp_path / "python"
    link.symlink_to(system)
    assert installer.tk_hint("linux", "debian", link).startswith("run sudo apt install python3-tk ")


def test_homebrew_python_gets_its_versioned_python_tk_formula(installer: ModuleType) -> None:
    for python in (
        Path("/opt/homebrew/opt/python@3.12/bin/python3.12"),
        Path("/usr/local/Cellar/python@3.12/3.12.7/bin/python3.12"),
    ):
        assert installer.tk_hint("darwin", None, python, (3, 12)).startswith("run brew install python-tk@3.12 ")


def test_other_macos_and_windows_pythons(installer: ModuleType) -> None:
    assert "python.org" in installer.tk_hint("darwin", None, Path("/Users/me/.pyenv/versions/3.12.1/bin/python"))
    assert "tcl/tk and IDLE" in installer.tk_hint("win32", None, Path("C:/Python312/python.exe"))
