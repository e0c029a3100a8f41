"""A throwaway desktop for tray tests: Xvfb, a private D-Bus, dunst (notifications) and tint2 (an XEmbed tray).

    with desktop_session(tmp_path) as desk:
        app = desk.spawn([...])                  # runs with DISPLAY, the private bus and NO_AT_BRIDGE=1
        icon = desk.wait_for_docked_icon()       # the XEmbed window inside tint2, once it shows pixels
        desk.click(icon.center, button=3)        # the real pointer, not `xdotool click --window`

Facts behind the choices are in /work/shared/TESTING-DESKTOP.md: `-noreset` keeps the root-window properties
that let tint2 start without a window manager; the private bus has no service folders, so nothing is
auto-started behind our back; every process started here is stopped on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, ImageGrab
from Xlib.error import XError

TOOLS = ("Xvfb", "xprop", "xdotool", "tint2", "dunst", "dbus-daemon", "gdbus")
T = TypeVar("T")

TINT2_CONFIG = """\
panel_items = S
panel_monitor = all
panel_position = top center horizontal
panel_size = 100% 32
panel_margin = 0 0
panel_padding = 4 0 4
panel_background_id = 1
panel_layer = top
panel_dock = 0
wm_menu = 0
strut_policy = none
rounded = 0
border_width = 0
background_color = #303030 100
border_color = #000000 0
systray_padding = 4 4 4
systray_background_id = 0
systray_sort = ascending
systray_icon_size = 24
systray_icon_asb = 100 0 0
systray_monitor = 1
"""

BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def missing_tools() -> list[str]:
    """The desktop tools that are not installed (tests/setup/30-desktop.sh installs them)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    try:
        import gi  # noqa: F401
    except ImportError:
        missing.append("PyGObject (python module gi)")
    return missing


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll until `predicate` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.x + self.width, self.y + self.height


@dataclass
class DesktopSession:
    display: str
    env: dict[str, str]
    tmp: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _xdisplay: Any = None

    # ---- processes ----------------------------------------------------------------------------------

    def spawn(
        self, cmd: Sequence[str], env: dict[str, str] | None = None, log_name: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process in this session; it is stopped when the session ends."""
        log = (self.tmp / f"{log_name or Path(cmd[0]).name}.log").open("ab")
        proc = subprocess.Popen(list(cmd), env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> int:
        """Stop one process politely, then firmly."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        return proc.returncode

    # ---- X ------------------------------------------------------------------------------------------

    @property
    def x(self) -> Any:
        if self._xdisplay is None:
            from Xlib import display

            self._xdisplay = display.Display(self.display)
        return self._xdisplay

    def tray_owner(self) -> int | None:
        """The window of the tray host (the owner of the XEmbed tray selection), once it runs."""
        x = self.x
        owner = x.get_selection_owner(x.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return owner.id if owner and owner.id else None

    def _docked(self) -> list[Any]:
        """XEmbed client windows inside the tray host's panel."""
        x = self.x
        xembed = x.intern_atom("_XEMBED_INFO")
        found = []
        stack = [x.screen().root]
        while stack:
            window = stack.pop()
            try:
                children = window.query_tree().children
                props = window.list_properties() or []
            except XError:  # a window vanished while we walked the tree
                continue
            if xembed in props and window.get_attributes().map_state:
                found.append(window)
            stack.extend(children)
        return found

    def geometry(self, window: Any) -> Rect:
        geom = window.get_geometry()
        pos = window.translate_coords(self.x.screen().root, 0, 0)
        return Rect(-pos.x, -pos.y, geom.width, geom.height)

    def screenshot(self, box: tuple[int, int, int, int] | None = None) -> Image.Image:
        return ImageGrab.grab(bbox=box, xdisplay=self.display)

    def wait_for_docked_icon(self, timeout: float = 10.0) -> Rect:
        """The rectangle of the first icon docked in the tray, once it has drawn something."""
        wait_for(self.tray_owner, timeout, "the tray host to own the tray selection")
        window = wait_for(lambda: (self._docked() or [None])[0], timeout, "an icon to dock in the tray")
        rect = self.geometry(window)
        wait_for(lambda: self.icon_drawn(rect), timeout, "the docked icon to draw its pixels")
        return rect

    def icon_drawn(self, rect: Rect) -> bool:
        colours = self.screenshot(rect.box).convert("RGB").getcolors(maxcolors=4096)
        return colours is None or len(colours) > 2

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True, timeout=10)

    def click(self, at: tuple[int, int], button: int = 1) -> None:
        """Move the real pointer and click (tint2 crashes on `xdotool click --window`)."""
        self.xdotool("mousemove", "--sync", str(at[0]), str(at[1]))
        self.xdotool("click", str(button))

    def _tooltip_or_notification(self, window: Any) -> bool:
        """A tooltip (the icon's, when the pointer rests on it after a click) or a notification bubble (dunst) is
        override-redirect like a menu but is not one."""
        try:
            wm_class = window.get_wm_class() or ()
            kind = window.get_full_property(self.x.intern_atom("_NET_WM_WINDOW_TYPE"), 0)
        except XError:
            return False
        if "Dunst" in wm_class:
            return True
        names = {self.x.get_atom_name(atom) for atom in (kind.value if kind is not None else [])}
        return bool(names & {"_NET_WM_WINDOW_TYPE_TOOLTIP", "_NET_WM_WINDOW_TYPE_NOTIFICATION"})

    def popup_windows(self) -> list[Rect]:
        """Mapped override-redirect windows (GTK menus and their submenus), top-level only."""
        rects = []
        for window in self.x.screen().root.query_tree().children:
            try:
                attrs = window.get_attributes()
            except XError:
                continue
            if attrs.override_redirect and attrs.map_state == 2 and not self._tooltip_or_notification(window):
                rect = self.geometry(window)
                if rect.x >= 0 and rect.y >= 0 and rect.width > 10 and rect.height > 10:
                    rects.append(rect)
        return rects


def _start_xvfb(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    log = (tmp / "Xvfb.log").open("ab")
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-noreset", "-nolisten", "tcp", "-screen", "0", "800x600x24"],
        pass_fds=(write_fd,),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        number = pipe.readline().strip().decode()
    if not number:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"Xvfb did not start: {(tmp / 'Xvfb.log').read_text(errors='replace')}")
    return proc, f":{number}"


def _start_bus(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    sockets = tmp / "bus"
    sockets.mkdir()
    config = tmp / "session.conf"
    config.write_text(BUS_CONFIG.format(dir=sockets), encoding="utf-8")
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip().decode()
    proc.stdout.close()
    if not address:
        proc.kill()
        proc.wait()
        raise RuntimeError("dbus-daemon did not start")
    return proc, address


def _name_has_owner(env: dict[str, str], name: str) -> bool:
    result = subprocess.run(
        [
            "gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
            "--method", "org.freedesktop.DBus.NameHasOwner", name,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=5,
    )  # fmt: skip
    return "true" in result.stdout


@contextlib.contextmanager
def desktop_session(tmp: Path, notifications: bool = True) -> Iterator[DesktopSession]:
    """Start a desktop with a docked-icon-ready tray; stop everything on exit."""
    tmp.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    session: DesktopSession | None = None
    try:
        xvfb, display = _start_xvfb(tmp)
        processes.append(xvfb)
        bus, address = _start_bus(tmp)
        processes.append(bus)
        runtime = tmp / "runtime"
        runtime.mkdir(mode=0o700)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DISPLAY": display,
            "DBUS_SESSION_BUS_ADDRESS": address,
            "NO_AT_BRIDGE": "1",
            "XDG_RUNTIME_DIR": str(runtime),
            "HOME": str(tmp / "desktop-home"),
            "LANG": "C.UTF-8",
            # A tray keeps a resident server warm, which would outlive the session; a test of it turns it on.
            "OLLAMA_MCP_RESIDENT": "0",
        }
        session = DesktopSession(display, env, tmp, processes)
        for prop, value in (("_NET_NUMBER_OF_DESKTOPS", "1"), ("_NET_CURRENT_DESKTOP", "0")):
            subprocess.run(["xprop", "-root", "-f", prop, "32c", "-set", prop, value], env=env, check=True, timeout=10)
        if notifications:
            session.spawn(["dunst"])
            wait_for(lambda: _name_has_owner(env, "org.freedesktop.Notifications"), 10, "dunst on the session bus")
        config = tmp / "tint2rc"
        config.write_text(TINT2_CONFIG, encoding="utf-8")
        session.spawn(["tint2", "-c", str(config)])
        wait_for(session.tray_owner, 10, "tint2 to own the tray selection")
        yield session
    finally:
        if session is not None and session._xdisplay is not None:
            with contextlib.suppress(Exception):
                session._xdisplay.close()
        for proc in reversed(processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(processes):
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
