"""pystray's own `dummy` backend with its platform hooks filled in, so the real `TrayIcon` runs without a display.

pystray's dummy `Icon` imports anywhere but raises `NotImplementedError` from every platform hook. The subclass
here implements them the way a backend would, keeping what it was asked to show: the image, the title, the
menu (pystray's own `Menu`/`MenuItem` objects, built by our `TrayIcon`) and the notifications. `click()` walks
that menu by text and activates an item as a backend does on a click, so a test drives the same path a user
does, from pystray's menu item to the controller.

    pystray = headless_pystray()
    icon = TrayIcon(pystray, controller.on_action)
    runner = threading.Thread(target=icon.run, args=(lambda: controller.start(icon),))
    backend = pystray.Icon.last                  # the HeadlessIcon the TrayIcon made
    click(backend, "Claude Code", "Enabled for all projects")
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

RUN_LIMIT = 60.0  # seconds: a test that forgets to stop the icon does not hang the run


def _import_pystray() -> ModuleType:
    """Import pystray with its dummy backend selected (no display needed); the environment is restored after."""
    saved = os.environ.get("PYSTRAY_BACKEND")
    os.environ["PYSTRAY_BACKEND"] = "dummy"
    try:
        importlib.import_module("pystray")
        return importlib.import_module("pystray._dummy")
    finally:
        if saved is None:
            del os.environ["PYSTRAY_BACKEND"]
        else:
            os.environ["PYSTRAY_BACKEND"] = saved


_dummy = _import_pystray()
_pystray = importlib.import_module("pystray")


class HeadlessIcon(_dummy.Icon):  # type: ignore[misc,name-defined]
    """A pystray Icon that shows nothing and remembers everything."""

    HAS_NOTIFICATION = True
    last: HeadlessIcon | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notifications: list[tuple[str | None, str]] = []
        self.changed = threading.Condition()
        self._stop_requested = threading.Event()
        type(self).last = self

    # ---- pystray's platform hooks -------------------------------------------------------------------

    def _show(self) -> None:
        self._touch()

    def _hide(self) -> None:
        self._touch()

    def _update_icon(self) -> None:
        self._icon_valid = True
        self._touch()

    def _update_title(self) -> None:
        self._touch()

    def _update_menu(self) -> None:
        self._touch()

    def _notify(self, message: str, title: str | None = None) -> None:
        with self.changed:
            self.notifications.append((title, message))
            self.changed.notify_all()

    def _remove_notification(self) -> None:
        pass

    def _run(self) -> None:
        self._mark_ready()
        self._stop_requested.wait(RUN_LIMIT)

    def _stop(self) -> None:
        self._stop_requested.set()

    def _touch(self) -> None:
        with self.changed:
            self.changed.notify_all()

    # ---- what tests read ----------------------------------------------------------------------------

    def messages(self) -> list[str]:
        with self.changed:
            return [message for _title, message in self.notifications]

    def wait_for_notification(self, predicate: Callable[[str], bool], timeout: float = 5.0) -> str:
        """The first notification (already sent or still to come) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for _title, message in self.notifications:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching notification within {timeout:g} s; got {self.notifications}")
                self.changed.wait(left)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until the icon (its menu, title or image) satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
                self.changed.wait(left)


def headless_pystray() -> Any:
    """A stand-in for the `pystray` module whose `Icon` is a fresh `HeadlessIcon` subclass."""
    icon_class = type("Icon", (HeadlessIcon,), {"__module__": "pystray._dummy", "last": None})
    return SimpleNamespace(Icon=icon_class, Menu=_pystray.Menu, MenuItem=_pystray.MenuItem)


def find_item(icon: Any, *texts: str) -> Any:
    """The visible pystray menu item reached by following items whose text starts with each of `texts`.

    Raises:
        KeyError: no such item at some level (the message lists what was there).
    """
    menu = icon.menu
    item = None
    for text in texts:
        if menu is None:
            raise KeyError(f"{text!r}: the previous item has no submenu")
        visible = [i for i in menu.items if i.visible and i is not _pystray.Menu.SEPARATOR]
        matches = [i for i in visible if i.text.startswith(text)]
        if not matches:
            raise KeyError(f"{text!r} not in {[i.text for i in visible]}")
        item = matches[0]
        menu = item.submenu
    return item


def click(icon: Any, *texts: str) -> None:
    """Activate a menu item the way a backend does: call it with the icon, then refresh the menu.

    Raises:
        AssertionError: the item is disabled (a user could not click it).
    """
    item = find_item(icon, *texts)
    assert item.enabled, f"{texts} is disabled"
    item(icon)
    icon.update_menu()


def texts(icon: Any, *path: str) -> list[str]:
    """The visible texts of the menu at `path` (the top menu when empty)."""
    menu = find_item(icon, *path).submenu if path else icon.menu
    return [i.text for i in menu.items if i.visible and i is not _pystray.Menu.SEPARATOR]
