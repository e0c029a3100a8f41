"""The tray icon: the only module that imports pystray.

It turns the neutral menu of `menu_model` into pystray objects and shows status images from the package's
assets. Threading: `run()` owns the main thread (pystray's rule); every other method is called from the
tray controller's single thread, so pystray is only ever driven from one thread of ours. Menu clicks arrive
on pystray's thread and are handed straight to `on_action`, which only queues them.

Hover text: pystray sets the icon's *title*. The win32 and darwin backends show it on hover, but the gtk
backend (0.19) only calls `GtkStatusIcon.set_title`, which trays do not show, so on gtk the tooltip is set too,
through the status icon pystray keeps (see `_gtk_tooltip`). appindicator hands the title to the StatusNotifier
host, which decides whether to show it; xorg is refused at start anyway.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from . import backend as backend_info
from .menu_model import Action, Entry, Item, Menu
from .state import IconState

log = logging.getLogger(__name__)

ICON_SIZES = (16, 22, 24, 32, 48, 64)


class TrayUnavailable(Exception):
    """No usable tray icon in this session; the message says why and what to do."""


def _target_size(backend: str) -> int:
    # Trays scale what they get; starting from the size nearest above theirs keeps the small-size drawing.
    return {"darwin": 44, "win32": 32}.get(backend, 24)


def _asset_image(name: str) -> Image.Image | None:
    resource = importlib.resources.files("ollama_mcp_tray.assets") / "icons" / name
    if not resource.is_file():
        return None
    with resource.open("rb") as fh:
        image = Image.open(fh)
        image.load()
    return image


def status_image(state: IconState, size: int) -> Image.Image:
    """The status icon for a state, from the smallest asset at least `size` pixels wide."""
    candidates = [s for s in ICON_SIZES if s >= size] or [ICON_SIZES[-1]]
    for candidate in candidates:
        image = _asset_image(f"status-{state.value}-{candidate}.png")
        if image is not None:
            return image
    raise FileNotFoundError(
        f"No status-{state.value}-*.png in ollama_mcp_tray.assets/icons: the package is incomplete."
    )


def with_remote_mark(image: Image.Image) -> Image.Image:
    """The status icon with the remote mark: a white dot ringed in dark in the top right corner (the "loaded"
    dot sits bottom right). About a third of the icon wide, so it still reads at 16 px on light and dark panels.
    Drawn four times larger and scaled down, for smooth edges."""
    from PIL import ImageDraw

    size = image.width
    scale = 4
    big = size * scale
    ring = max(1, round(size / 16)) * scale
    radius = max(2.5, size * 0.17) * scale
    cx, cy = big - radius - ring, radius + ring
    mark = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(mark)
    outer = radius + ring
    draw.ellipse((cx - outer, cy - outer, cx + outer, cy + outer), fill=(20, 24, 31, 255))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 255, 255, 255))
    marked = image.convert("RGBA")
    marked.alpha_composite(mark.resize((size, size), Image.Resampling.LANCZOS))
    return marked


@dataclass(frozen=True)
class View:
    """What the icon shows: computed purely from the state by `menu_model`."""

    state: IconState
    tooltip: str
    menu: Menu
    remote: bool = False  # the active Ollama is not this machine: the icon carries the remote mark


def load_pystray(env: dict[str, str] | None = None) -> Any:
    """Import pystray and check that its backend can be clicked.

    Raises:
        TrayUnavailable: no display, pystray failed to load, or only the unclickable xorg backend exists.
    """
    env = dict(os.environ) if env is None else env
    problem = backend_info.display_problem(env)
    if problem:
        raise TrayUnavailable(problem)
    try:
        import pystray
    # pystray only turns ImportError into a fallback; a display that cannot be opened raises Xlib's errors.
    except Exception as exc:
        raise TrayUnavailable(backend_info.import_failure_message(exc, env)) from exc
    name = backend_info.backend_name(pystray.Icon.__module__)
    message = backend_info.unusable_backend_message(name)
    if message:
        raise TrayUnavailable(message)
    return pystray


class TrayIcon:
    """A pystray icon fed with `View`s."""

    def __init__(self, pystray: Any, on_action: Callable[[Action], None], name: str = "ollama-mcp-tray") -> None:
        self._pystray = pystray
        self._on_action = on_action
        self.backend = backend_info.backend_name(pystray.Icon.__module__)
        self._size = _target_size(self.backend)
        self._images: dict[tuple[IconState, bool], Image.Image] = {}
        self._shown: View | None = None
        self._icon = pystray.Icon(name, self._image(IconState.STARTING), "Ollama MCP Tray")

    @property
    def has_notification(self) -> bool:
        return bool(self._icon.HAS_NOTIFICATION)

    def _image(self, state: IconState, remote: bool = False) -> Image.Image:
        if (state, remote) not in self._images:
            image = status_image(state, self._size)
            self._images[state, remote] = with_remote_mark(image) if remote else image
        return self._images[state, remote]

    def _item(self, entry: Entry) -> Any:
        ps = self._pystray
        if not isinstance(entry, Item):
            return ps.Menu.SEPARATOR
        if entry.submenu:
            return ps.MenuItem(entry.text, ps.Menu(*(self._item(e) for e in entry.submenu)))
        action = entry.action
        callback: Callable[[Any, Any], None] = _ignore if action is None else _Dispatch(self._on_action, action)
        checked = None if entry.checked is None else _Const(entry.checked)
        return ps.MenuItem(
            entry.text,
            callback,
            checked=checked,
            radio=entry.radio,
            default=entry.default,
            visible=entry.visible,
            enabled=entry.enabled,
        )

    def show(self, view: View) -> None:
        """Show a view, touching only what changed (the gtk backend writes a file per icon change)."""
        old = self._shown
        if old is None or old.state is not view.state or old.remote != view.remote:
            self._icon.icon = self._image(view.state, view.remote)
        if old is None or old.tooltip != view.tooltip:
            self._icon.title = view.tooltip
            if self.backend == "gtk":
                _gtk_tooltip(self._icon, view.tooltip)
        if old is None or old.menu != view.menu:
            self._icon.menu = self._pystray.Menu(*(self._item(e) for e in view.menu))
        self._shown = view

    def notify(self, title: str, message: str) -> None:
        """A desktop notification, where the backend can send one; always logged."""
        log.info("notification: %s: %s", title, message)
        if self.has_notification:
            self._icon.notify(message, title)

    def run(self, setup: Callable[[], None]) -> None:
        """Run pystray's loop on this (the main) thread until `stop()`; `setup` runs once it is ready."""

        def ready(icon: Any) -> None:
            icon.visible = True
            setup()

        self._icon.run(setup=ready)

    def stop(self) -> None:
        self._icon.stop()


def _gtk_tooltip(icon: Any, text: str) -> None:
    """Show `text` on hover over a gtk-backend icon.

    pystray 0.19's gtk Icon keeps its `Gtk.StatusIcon` in `_status_icon` and changes it only from the GLib main
    loop; this does the same. Should a later pystray rename the attribute, the hover text is skipped (logged),
    never the icon.
    """
    status_icon = getattr(icon, "_status_icon", None)
    if status_icon is None or not hasattr(status_icon, "set_tooltip_text"):
        log.info("pystray's gtk icon has no _status_icon; the hover text is not shown")
        return
    from gi.repository import GLib

    def apply() -> bool:
        status_icon.set_tooltip_text(text)
        return False  # run once

    GLib.idle_add(apply)


class _Const:
    """A constant for pystray's `checked` (it wants a callable taking the item)."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __call__(self, item: Any) -> bool:
        return self.value


class _Dispatch:
    def __init__(self, on_action: Callable[[Action], None], action: Action) -> None:
        self.on_action = on_action
        self.action = action

    def __call__(self, icon: Any, item: Any) -> None:
        self.on_action(self.action)


def _ignore(icon: Any, item: Any) -> None:
    """Informational lines are disabled; nothing to do if one is activated anyway."""
