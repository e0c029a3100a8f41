#!/usr/bin/env python3
"""Install Ollama MCP Tray for this user with nothing but Python 3 (3.10 or newer):

    python3 packaging/install.py              # from the checkout this script sits in
    python3 packaging/install.py --source ollama-mcp-tray==0.1.0   # or any pip requirement / path / URL
    python3 packaging/install.py --uninstall

What it does:
1. creates a virtual environment in the app's data folder (`~/.local/share/ollama-mcp-tray/venv` on Linux,
   `~/Library/Application Support/ollama-mcp-tray/venv` on macOS, `%LOCALAPPDATA%\\ollama-mcp-tray\\venv`);
2. installs the app into it;
3. on Linux, gives the tray a clickable backend (PyGObject): it reuses the system's `python3-gi` through a
   `--system-site-packages` environment when the system Python has it, else builds PyGObject with pip, else
   installs the app anyway and names the OS packages to add;
4. links `ollama-mcp-tray` and `ollama-mcp-server` into `~/.local/bin`;
5. adds the app to the desktop's application menu (Linux);
6. prints what to do next.

`--uninstall` removes the registrations in Claude Code (unless `--keep-registrations`), the menu entry,
the login item, the links and the environment; the settings, the stored key, the data (usage records, backups
of Claude Code's files) and the logs stay, each named with its folder. `--uninstall --purge` removes those too.

This script runs before any dependency exists, so it uses the standard library only (no platformdirs: the
folders are computed here the way platformdirs computes them). Exit codes: 0 done, 1 a step failed (the
message says which and what to do), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

APP = "ollama-mcp-tray"
COMMANDS = ("ollama-mcp-tray", "ollama-mcp-server")
MIN_PYTHON = (3, 10)
CHECKOUT = Path(__file__).resolve().parent.parent
PIP_TIMEOUT_S = 900
STEP_TIMEOUT_S = 120
# PyGObject 3.51+ needs GLib 2.80 (girepository-2.0); older distributions (Debian 12) build 3.50.
PYGOBJECT_REQUIREMENTS = ("pygobject<3.51", "pygobject")
GI_CHECK = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
# The windows (welcome, settings, models, usage) use Tk: part of Python on macOS and Windows, a package on Linux.
# `import tkinter` loads _tkinter, which links libtk: it fails when either the module or the library is missing.
TK_CHECK = "import tkinter, tkinter.ttk"
# The distribution's package that gives its own python3 Tk (Arch's python has the module; it needs the library).
TK_PACKAGES: dict[str, str] = {
    "debian": "sudo apt install python3-tk",
    "fedora": "sudo dnf install python3-tkinter",
    "arch": "sudo pacman -S tk",
    "suse": "sudo zypper install python3-tk",
}
# What a Python built from source (pyenv, by hand) needs before its rebuild to get _tkinter.
TK_HEADERS: dict[str, str] = {"debian": "tk-dev", "fedora": "tk-devel", "arch": "tk", "suse": "tk-devel"}

# What to install when no clickable backend could be set up, by distribution family (os-release ID/ID_LIKE).
OS_PACKAGES: dict[str, str] = {
    "debian": "sudo apt install python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1",
    "fedora": "sudo dnf install python3-gobject gtk3 libayatana-appindicator-gtk3",
    "arch": "sudo pacman -S python-gobject gtk3 libayatana-appindicator",
    "suse": "sudo zypper install python3-gobject-Gdk typelib-1_0-Gtk-3_0 typelib-1_0-AyatanaAppIndicator3-0_1",
}
BUILD_PACKAGES: dict[str, str] = {
    "debian": "sudo apt install libgirepository1.0-dev libcairo2-dev pkg-config gcc python3-dev",
    "fedora": "sudo dnf install gobject-introspection-devel cairo-gobject-devel pkg-config gcc python3-devel",
    "arch": "sudo pacman -S gobject-introspection cairo pkgconf gcc",
    "suse": "sudo zypper install gobject-introspection-devel cairo-devel pkg-config gcc python3-devel",
}


class InstallError(Exception):
    """A step failed; the message says what to do."""


def say(text: str = "") -> None:
    """Progress and results, for the person running the installer."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# ---- where things go -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The folders this installer writes to."""

    data_dir: Path
    config_dir: Path
    bin_dir: Path
    platform: str

    @property
    def venv(self) -> Path:
        return self.data_dir / "venv"

    @property
    def venv_bin(self) -> Path:
        return self.venv / ("Scripts" if self.platform == "win32" else "bin")

    @property
    def venv_python(self) -> Path:
        return self.venv_bin / ("python.exe" if self.platform == "win32" else "python")

    def venv_command(self, name: str) -> Path:
        return self.venv_bin / (f"{name}.exe" if self.platform == "win32" else name)


@dataclass(frozen=True)
class AppFolders:
    """Where the installed app keeps the user's files (the folders `server/paths.py` gets from platformdirs)."""

    config_dir: Path
    data_dir: Path
    log_dir: Path

    def kept(self) -> list[tuple[str, Path]]:
        """What an uninstall leaves, as (what it is, where), for the files and folders that exist."""
        items = [
            ("settings", self.config_dir / "settings.json"),
            ("your Ollama key", self.config_dir / "ollama.key"),
            ("data: usage records, model list, backups of Claude Code's files", self.data_dir),
            ("logs", self.log_dir),
        ]
        return [(what, path) for what, path in items if path.exists()]


def app_folders(home: Path, env: Mapping[str, str], platform: str = sys.platform) -> AppFolders:
    """The app's folders the way platformdirs names them (this script cannot import it)."""
    if platform == "win32":
        local = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP
        return AppFolders(local, local, local / "Logs")
    if platform == "darwin":
        support = home / "Library" / "Application Support" / APP
        return AppFolders(support, support, home / "Library" / "Logs" / APP)
    return AppFolders(
        _xdg(env, "XDG_CONFIG_HOME", home / ".config") / APP,
        _xdg(env, "XDG_DATA_HOME", home / ".local" / "share") / APP,
        _xdg(env, "XDG_STATE_HOME", home / ".local" / "state") / APP / "log",
    )


_ASK_FOLDERS = (
    "import json; from ollama_mcp_tray.server.paths import AppPaths; p = AppPaths.default(); "
    "print(json.dumps([str(p.config_dir), str(p.data_dir), str(p.log_dir)]))"
)


def installed_folders(layout: Layout, env: Mapping[str, str], fallback: AppFolders) -> AppFolders:
    """The installed app's own answer (it is the one that writes there); `fallback` when it cannot say."""
    if not layout.venv_python.exists():
        return fallback
    code, output = run_quiet([layout.venv_python, "-c", _ASK_FOLDERS], env)
    try:
        config, data, log = (Path(p) for p in json.loads(output.strip().splitlines()[-1]))
    except (ValueError, IndexError, TypeError):
        return fallback
    return AppFolders(config, data, log) if code == 0 else fallback


def _xdg(env: Mapping[str, str], key: str, fallback: Path) -> Path:
    value = env.get(key, "")
    return Path(value) if value and Path(value).is_absolute() else fallback


def default_layout(home: Path, env: Mapping[str, str], platform: str = sys.platform) -> Layout:
    """The app's data and config folders as platformdirs names them, and the user's bin folder."""
    if platform == "win32":
        local = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return Layout(local / APP, local / APP, local / APP / "bin", platform)
    if platform == "darwin":
        support = home / "Library" / "Application Support" / APP
        return Layout(support, support, home / ".local" / "bin", platform)
    return Layout(
        _xdg(env, "XDG_DATA_HOME", home / ".local" / "share") / APP,
        _xdg(env, "XDG_CONFIG_HOME", home / ".config") / APP,
        home / ".local" / "bin",
        platform,
    )


# ---- running things --------------------------------------------------------------------------------------


def run(cmd: Sequence[str | Path], env: Mapping[str, str], timeout: float = STEP_TIMEOUT_S) -> int:
    """Run a command with its output shown; its exit code (-1 when it could not start or timed out)."""
    try:
        return subprocess.run([str(c) for c in cmd], env=dict(env), timeout=timeout, check=False).returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        say(f"  ({cmd[0]} did not finish: {exc})")
        return -1


def run_quiet(cmd: Sequence[str | Path], env: Mapping[str, str], timeout: float = STEP_TIMEOUT_S) -> tuple[int, str]:
    """Run a command capturing its output: (exit code, stdout and stderr); -1 when it could not run."""
    try:
        done = subprocess.run(
            [str(c) for c in cmd], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return -1, str(exc)
    return done.returncode, done.stdout + done.stderr


def succeeds(cmd: Sequence[str | Path], env: Mapping[str, str], timeout: float = STEP_TIMEOUT_S) -> bool:
    """Whether a command exits 0, its output hidden."""
    try:
        done = subprocess.run([str(c) for c in cmd], env=dict(env), capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def distribution_family(os_release: Path = Path("/etc/os-release")) -> str | None:
    """'debian', 'fedora', 'arch' or 'suse' from os-release's ID and ID_LIKE, else None."""
    try:
        text = os_release.read_text(encoding="utf-8")
    except OSError:
        return None
    ids: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            ids += value.strip().strip('"').split()
    for family in OS_PACKAGES:
        if any(family in i for i in ids) or (family == "debian" and "ubuntu" in ids):
            return family
    return None


def system_pythons_with_gi(env: Mapping[str, str]) -> list[Path]:
    """System interpreters (3.10+) whose `gi` can load GTK 3, the running Python's version first."""
    own = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    found: list[Path] = []
    for name in (own, "python3"):
        path = Path("/usr/bin") / name
        if not path.is_file() or path.resolve() in (p.resolve() for p in found):
            continue
        version_ok = succeeds([path, "-c", f"import sys; sys.exit(sys.version_info < {MIN_PYTHON!r})"], env)
        if version_ok and succeeds([path, "-c", GI_CHECK], env):
            found.append(path)
    return found


def venv_base_python(layout: Layout, env: Mapping[str, str]) -> Path:
    """The interpreter the environment was made from (its Tk is the one the windows get)."""
    code, output = run_quiet([layout.venv_python, "-c", "import sys; print(sys._base_executable)"], env)
    lines = output.strip().splitlines()
    return Path(lines[-1]) if code == 0 and lines else layout.venv_python


def tk_hint(
    platform: str,
    family: str | None,
    python: Path,
    version: tuple[int, int] = (sys.version_info[0], sys.version_info[1]),
) -> str:
    """What gives `python` Tk, as the command or step to take.

    A distribution's package serves only the distribution's own interpreter (under /usr); a Python built by
    pyenv or by hand must be rebuilt with Tk's headers. Homebrew ships Tk for its Pythons as a formula of its
    own, named after the Python version; python.org's installers carry Tk (on Windows an optional part).
    """
    minor = f"{version[0]}.{version[1]}"
    real = os.path.realpath(python)
    # Another interpreter means another environment: the installer reuses the one it finds, so remove it first.
    switch = "then remove this environment (--uninstall) and run this installer with {}"
    if platform.startswith("linux"):
        package = TK_PACKAGES.get(family or "", TK_PACKAGES["debian"])
        if not real.startswith("/usr/") or real.startswith("/usr/local/"):
            headers = TK_HEADERS.get(family or "", TK_HEADERS["debian"])
            return (
                f"it is not the system's Python: rebuild it with Tk's headers ({headers}), or run "
                f"{package}, {switch.format('/usr/bin/python3')}"
            )
        return f"run {package} (the windows then work, no reinstall needed)"
    if platform == "darwin":
        if "/Cellar/" in real or real.startswith("/opt/homebrew/"):
            return f"run brew install python-tk@{minor} (the windows then work, no reinstall needed)"
        return f"install Python from python.org, which includes Tk, {switch.format('that Python')}"
    if platform == "win32":
        return "run the python.org installer again, choose Modify and tick 'tcl/tk and IDLE'"
    return "install Tk for this Python"


# ---- install ---------------------------------------------------------------------------------------------


def create_venv(layout: Layout, env: Mapping[str, str], *, want_gui: bool, reuse_system_gi: bool = True) -> str:
    """Create the environment; returns how the tray's GTK bindings will come ('system', or 'pip' to try)."""
    if layout.venv_python.exists():
        say(f"Reusing the environment in {layout.venv}")
        return "system" if succeeds([layout.venv_python, "-c", GI_CHECK], env) else "pip"
    layout.venv.parent.mkdir(parents=True, exist_ok=True)
    if want_gui and reuse_system_gi and layout.platform.startswith("linux"):
        for python in system_pythons_with_gi(env):
            say(f"Creating {layout.venv} from {python} (reusing its PyGObject)")
            if run([python, "-m", "venv", "--system-site-packages", layout.venv], env) == 0:
                return "system"
            say(f"  {python} could not create an environment (Debian/Ubuntu: sudo apt install python3-venv)")
            shutil.rmtree(layout.venv, ignore_errors=True)
    say(f"Creating {layout.venv}")
    if run([sys.executable, "-m", "venv", layout.venv], env) != 0:
        raise InstallError(
            f"Could not create a virtual environment with {sys.executable}. "
            "On Debian/Ubuntu install the venv module: sudo apt install python3-venv"
        )
    return "pip"


def pip_install(layout: Layout, args: Sequence[str], env: Mapping[str, str], pip_args: Sequence[str]) -> int:
    cmd: list[str | Path] = [
        layout.venv_python,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        *pip_args,
        *args,
    ]
    return run(cmd, env, timeout=PIP_TIMEOUT_S)


def ensure_gui_bindings(layout: Layout, env: Mapping[str, str], pip_args: Sequence[str]) -> bool:
    """Make `gi` with GTK 3 importable in the environment (Linux); whether it worked."""
    if succeeds([layout.venv_python, "-c", GI_CHECK], env):
        return True
    for requirement in PYGOBJECT_REQUIREMENTS:
        say(f"Building {requirement} for the tray's menu (needs a C compiler and GTK headers)...")
        if pip_install(layout, [requirement], env, pip_args) == 0 and succeeds(
            [layout.venv_python, "-c", GI_CHECK], env
        ):
            return True
    return False


def link_commands(layout: Layout) -> list[str]:
    """Symlink the app's commands into the bin folder; returns warnings for links it would not replace."""
    warnings: list[str] = []
    layout.bin_dir.mkdir(parents=True, exist_ok=True)
    for name in COMMANDS:
        link, target = layout.bin_dir / name, layout.venv_command(name)
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            warnings.append(f"{link} exists and is not a link; left alone (run {target} directly)")
            continue
        link.symlink_to(target)
    return warnings


def install_desktop(layout: Layout, env: Mapping[str, str]) -> bool:
    """Add the menu entry through the app itself; whether it worked."""
    if succeeds([layout.venv_command(APP), "install-desktop"], env):
        return True
    # An app version without the subcommand (or a failure, which the direct call will show): call the function.
    code = "from ollama_mcp_tray.tray.desktop.menu_entry import install_desktop; install_desktop()"
    return run([layout.venv_python, "-c", code], env) == 0


def install(
    layout: Layout,
    source: str,
    env: Mapping[str, str],
    *,
    desktop: bool,
    gui: bool,
    pip_args: Sequence[str],
    reuse_system_gi: bool = True,
) -> int:
    """Install or upgrade the app for this user."""
    linux = layout.platform.startswith("linux")
    create_venv(layout, env, want_gui=gui, reuse_system_gi=reuse_system_gi)
    say(f"Installing the app from {source}")
    if pip_install(layout, ["--upgrade", source], env, pip_args) != 0:
        raise InstallError(f"pip could not install {source}; its messages are above.")
    clickable = True
    if linux and gui:
        clickable = ensure_gui_bindings(layout, env, pip_args)
    warnings = link_commands(layout) if layout.platform != "win32" else []
    if linux and desktop and not install_desktop(layout, env):
        warnings.append("the application-menu entry could not be written (see above)")
    say()
    say("Ollama MCP Tray is installed.")
    for warning in warnings:
        say(f"  note: {warning}")
    if linux and gui and not clickable:
        family = distribution_family()
        say("  The tray icon will show but cannot be clicked: PyGObject (GTK 3) is missing. Either install")
        say(f"    {OS_PACKAGES.get(family or '', OS_PACKAGES['debian'])}")
        say("  and run this installer again after removing the environment (--uninstall), or install")
        say(f"    {BUILD_PACKAGES.get(family or '', BUILD_PACKAGES['debian'])}")
        say("  and run this installer again. Every feature also works from the command line.")
    if layout.platform == "win32":
        say(f"  Commands are in {layout.venv_bin}")
    elif str(layout.bin_dir) not in env.get("PATH", "").split(os.pathsep):
        say(f"  {layout.bin_dir} is not on your PATH; add this line to your shell profile:")
        say(f'    export PATH="{layout.bin_dir}:$PATH"')
    say()
    if gui and not succeeds([layout.venv_python, "-c", TK_CHECK], env):
        base = venv_base_python(layout, env)
        family = distribution_family() if linux else None
        say(f"  The app's windows need Tk, which {base} lacks: {tk_hint(layout.platform, family, base)}.")
        say("  The tray and the command line work without it.")
    say("Next:")
    say("  ollama-mcp-tray welcome   # a window that finds Ollama, gets a model and enables Claude Code")
    say("  ollama-mcp-tray setup     # the same on the command line")
    say("  ollama-mcp-tray           # start the tray (also in your application menu)")
    say("  ollama-mcp-tray doctor    # if anything looks wrong")
    return 0


# ---- uninstall -------------------------------------------------------------------------------------------


def uninstall(
    layout: Layout, env: Mapping[str, str], folders: AppFolders, *, keep_registrations: bool, purge: bool = False
) -> int:
    """Remove what `install` made; the user's settings, key, data and logs too with `purge`, else say where
    they stay."""
    app = layout.venv_command(APP)
    notes: list[str] = []
    folders = installed_folders(layout, env, folders)
    if app.exists():
        if not keep_registrations:
            say("Removing the server from Claude Code...")
            code, output = run_quiet([app, "disable", "--all"], env)
            if code != 2:
                say(output.rstrip())
            else:  # an app version without --all: the default (user) scope only
                code = run([app, "disable"], env)
                notes.append(
                    "registrations in project or local scope (if any) remain: remove them from those "
                    "projects' .mcp.json / ~/.claude.json, or reinstall and run `ollama-mcp-tray disable --all`"
                )
            if code != 0:
                notes.append("the registrations could not all be removed; see the messages above")
        if layout.platform.startswith("linux"):
            direct = "from ollama_mcp_tray.tray.desktop.menu_entry import uninstall_desktop; uninstall_desktop()"
            if not succeeds([app, "uninstall-desktop"], env) and run([layout.venv_python, "-c", direct], env) != 0:
                notes.append("the application-menu entry could not be removed")
        autostart = "from ollama_mcp_tray.tray.desktop.autostart import Autostart; Autostart().disable()"
        if run([layout.venv_python, "-c", autostart], env) != 0:
            notes.append("the login item could not be removed")
    for name in COMMANDS:
        link = layout.bin_dir / name
        if link.is_symlink() and Path(os.readlink(link)).parent == layout.venv_bin:
            link.unlink()
    if layout.venv.exists():
        shutil.rmtree(layout.venv)
    kept = folders.kept()
    if purge:
        for folder in dict.fromkeys((folders.config_dir, folders.data_dir, folders.log_dir)):
            if folder.exists():
                shutil.rmtree(folder)
        # The log folder sits in a folder of ours (.../state/ollama-mcp-tray/log): remove that once empty.
        if folders.log_dir.parent.name == APP:
            with contextlib.suppress(OSError):
                folders.log_dir.parent.rmdir()
    say("Ollama MCP Tray is uninstalled.")
    for note in notes:
        say(f"  note: {note}")
    if purge:
        for what, path in kept:
            say(f"  removed {what}: {path}")
    elif kept:
        say("  These stay, in case you reinstall; delete them if you like:")
        for what, path in kept:
            say(f"    {what}: {path}")
        say("  `python3 packaging/install.py --uninstall --purge` removes them all.")
    return 0


# ---- command line ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Parse the arguments and install or uninstall."""
    env = dict(os.environ) if env is None else dict(env)
    parser = argparse.ArgumentParser(description="Install Ollama MCP Tray for this user.")
    parser.add_argument("--source", help="what pip installs (default: the checkout this script is in)")
    parser.add_argument(
        "--uninstall", action="store_true", help="remove the app (settings, key, data and logs stay; see --purge)"
    )
    parser.add_argument(
        "--purge", action="store_true", help="with --uninstall: also remove the settings, key, data and logs"
    )
    parser.add_argument(
        "--keep-registrations", action="store_true", help="with --uninstall: leave Claude Code's config"
    )
    parser.add_argument("--no-desktop", action="store_true", help="no application-menu entry")
    parser.add_argument("--no-gui", action="store_true", help="skip PyGObject (command line and server only)")
    parser.add_argument(
        "--no-system-gi", action="store_true", help="build PyGObject with pip even if the system Python has it"
    )
    parser.add_argument("--pip-arg", action="append", default=[], help="an extra argument for pip (repeatable)")
    args = parser.parse_args(argv)
    if sys.version_info < MIN_PYTHON:
        sys.stderr.write(f"Ollama MCP Tray needs Python {'.'.join(map(str, MIN_PYTHON))} or newer.\n")
        return 2
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    layout = default_layout(home, env)
    if args.purge and not args.uninstall:
        sys.stderr.write("--purge goes with --uninstall.\n")
        return 2
    try:
        if args.uninstall:
            folders = app_folders(home, env)
            return uninstall(layout, env, folders, keep_registrations=args.keep_registrations, purge=args.purge)
        source = args.source or str(CHECKOUT)
        if args.source is None and not (CHECKOUT / "pyproject.toml").is_file():
            sys.stderr.write("No checkout around this script: give --source (e.g. --source ollama-mcp-tray).\n")
            return 2
        return install(
            layout,
            source,
            env,
            desktop=not args.no_desktop,
            gui=not args.no_gui,
            pip_args=args.pip_arg,
            reuse_system_gi=not args.no_system_gi,
        )
    except InstallError as exc:
        sys.stderr.write(f"install.py: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
