"""Choose and load the pystray backend that works on this desktop, with fixes for two of its bugs.

pystray picks its backend once, at `import pystray`, from `PYSTRAY_BACKEND`; left to itself on Linux
it tries appindicator first and may fail with a ValueError instead of ImportError when the
AppIndicator typelib is missing (docs/design.md). So the backend is always pinned here: appindicator
(a StatusNotifier host: GNOME with its extension, KDE), then gtk (XEmbed trays, a real menu), then xorg
(XEmbed without a menu; left click opens the library). A `PYSTRAY_BACKEND` set by the person wins.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
from types import ModuleType

log = logging.getLogger(__name__)

LINUX_BACKENDS = ("appindicator", "gtk", "xorg")


class NoTray(Exception):
    """No tray can be shown here (no display, or no backend loads); the message says why."""


def candidate_backends() -> tuple[str, ...]:
    pinned = os.environ.get("PYSTRAY_BACKEND")
    if pinned:
        return (pinned,)
    if sys.platform == "win32":
        return ("win32",)
    if sys.platform == "darwin":
        return ("darwin",)
    return LINUX_BACKENDS


def load_pystray() -> ModuleType:
    """Import pystray with the first backend that loads; raises NoTray with every reason otherwise."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise NoTray("No display was found (DISPLAY and WAYLAND_DISPLAY are not set).")
    reasons = []
    for backend in candidate_backends():
        os.environ["PYSTRAY_BACKEND"] = backend
        try:
            pystray = importlib.import_module("pystray")
        except Exception as exc:  # ImportError, but also Xlib's DisplayNameError and gi's ValueError
            reasons.append(f"{backend}: {exc}")
            for name in [m for m in sys.modules if m == "pystray" or m.startswith("pystray.")]:
                del sys.modules[name]
            continue
        log.info("Tray backend: %s", backend)
        return pystray
    raise NoTray("No tray backend could be loaded (" + "; ".join(reasons) + ").")


def backend_name() -> str:
    return os.environ.get("PYSTRAY_BACKEND", "")


def missing_system_tray() -> bool:
    """True when the backend needs an XEmbed tray (gtk, xorg) and nobody on the X screen offers one.

    GNOME without its AppIndicator extension is such a desktop: the icon would never show, and with
    it the only way to Quit.
    """
    if backend_name() not in ("gtk", "xorg"):
        return False
    import Xlib.display
    import Xlib.X

    try:
        display = Xlib.display.Display()
    except Exception:  # Xlib raises its own error classes for a display it cannot open
        return False  # not ours to judge: the backend loaded, so it found a way
    try:
        atom = display.intern_atom(f"_NET_SYSTEM_TRAY_S{display.get_default_screen()}")
        return display.get_selection_owner(atom) == Xlib.X.NONE
    finally:
        display.close()


def icon_class(pystray: ModuleType) -> type:
    """pystray's Icon for the loaded backend, with the workarounds that backend needs."""
    backend = backend_name()
    if backend == "xorg":
        return _xorg_icon(pystray.Icon)
    if backend == "gtk":
        return _gtk_icon(pystray.Icon)
    return pystray.Icon


def _xorg_icon(base: type) -> type:
    import Xlib.X

    class XorgIcon(base):
        """Workarounds for pystray 0.19.5's xorg backend.

        - Clicks never arrive: the icon window is created without ButtonPressMask, so the default
          menu item (Open Couchcast) never runs. Add it to the window's event mask.
        - Docked twice: showing the icon calls `_assert_docked` from both `_update_icon` and `_show`,
          each sending SYSTEM_TRAY_REQUEST_DOCK; trayer then embeds the window twice and often hands
          it back to the root window (the icon was lost in 3-6 of 6 launches). Dock only when not
          docked yet (a tray restart clears `_systray_manager`, so re-docking still works).
        """

        def _create_window(self):
            window = super()._create_window()
            window.change_attributes(
                event_mask=Xlib.X.ExposureMask | Xlib.X.StructureNotifyMask | Xlib.X.ButtonPressMask
            )
            return window

        def _assert_docked(self):
            if self._systray_manager is None:
                self._dock_window()
            assert self._systray_manager

    return XorgIcon


def _gtk_icon(base: type) -> type:
    from gi.repository import GLib

    class GtkIcon(base):
        """Workarounds for pystray 0.19.5's gtk backend.

        - It resets SIGINT to SIG_DFL when its loop starts, so Ctrl+C would kill the process without
          stopping the server: put back the handler that was there before.
        - Python runs signal handlers only between bytecodes of the main thread, which sits in
          GLib's C loop: a short timer gives it those moments, so SIGTERM is seen promptly.
        - On stop it hides its last notification over D-Bus and raises GLib.Error when the desktop
          has no notification service (a bare X session): there is nothing to hide then.
        """

        def _initialize(self):
            handler = signal.getsignal(signal.SIGINT)
            super()._initialize()
            if callable(handler):
                signal.signal(signal.SIGINT, handler)
            GLib.timeout_add(200, lambda: True)

        def _finalize(self):
            try:
                super()._finalize()
            except GLib.Error as exc:
                log.debug("no notification to hide: %s", exc)

    return GtkIcon
