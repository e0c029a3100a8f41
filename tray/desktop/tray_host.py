"""Is anything there to show our icon? An XEmbed tray (the `_NET_SYSTEM_TRAY_S0` selection) or a
StatusNotifier host (`org.kde.StatusNotifierWatcher` on the session bus), and how to get one when not.

pystray starts happily with neither: the icon then exists but nobody can see it (GNOME without the
AppIndicator extension, a bare window manager). The app looks once at start and, when nothing can show the
icon, opens its main window instead of leaving the user with an invisible app.
"""

from __future__ import annotations

from collections.abc import Mapping

WATCHER = "org.kde.StatusNotifierWatcher"


def xembed_tray_present(display: str) -> bool | None:
    """Whether an XEmbed tray owns the system tray selection of screen 0; None when X cannot be asked."""
    try:
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError
    except ImportError:
        return None
    try:
        connection = xdisplay.Display(display)
    except (DisplayError, OSError, ValueError):
        return None
    try:
        owner = connection.get_selection_owner(connection.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return bool(owner and owner.id)
    finally:
        connection.close()


def status_notifier_present() -> bool | None:
    """Whether a StatusNotifier watcher runs on the session bus; None when the bus cannot be asked."""
    try:
        import gi

        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib
    except (ImportError, ValueError):
        return None
    try:
        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            GLib.Variant("(s)", (WATCHER,)),
            GLib.VariantType("(b)"),
            Gio.DBusCallFlags.NONE,
            2000,
            None,
        )
    except GLib.Error:
        return None
    return bool(reply.unpack()[0])


def tray_host_present(backend: str, env: Mapping[str, str]) -> bool | None:
    """Whether the session can show an icon of pystray's `backend`; None when it cannot be told (then the app
    trusts the tray). Only Linux backends are asked: macOS and Windows always have their menu bar and tray."""
    if backend not in ("gtk", "appindicator"):
        return None
    display = env.get("DISPLAY", "")
    answers = [xembed_tray_present(display) if display else None]
    if backend == "appindicator":
        answers.append(status_notifier_present())
    if any(answers):
        return True
    return False if all(a is False for a in answers) else None


def how_to_get_a_tray(env: Mapping[str, str]) -> str:
    """What to do on this desktop to see the icon."""
    desktop = env.get("XDG_CURRENT_DESKTOP", "").lower()
    if "gnome" in desktop or "ubuntu" in desktop:
        return (
            "GNOME shows tray icons only with the AppIndicator extension: install it "
            "(`sudo apt install gnome-shell-extension-appindicator`, or 'AppIndicator and KStatusNotifierItem "
            "Support' from extensions.gnome.org), enable it, and log out and in. The tray keeps running and its "
            "icon appears as soon as a tray does."
        )
    return (
        "Nothing on this desktop shows tray icons: add a system tray (notification area) to your panel, or run "
        "a tray such as tint2, trayer or stalonetray. The tray keeps running and its icon appears as soon as a "
        "tray does."
    )
