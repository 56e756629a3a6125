"""The tray icon and its menu; every action is a method here, called from pystray's event loop.

Menus are built by callables from the current state (shared folders, start at login), and
`update_menu()` rebuilds them after any change, including changes that finish later on another thread
(the folder dialog). The tray talks to the server only through `server.runner`'s handle: its runtime's
shares and config file, and `server.network` for the links.
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from collections.abc import Callable, Iterator
from types import ModuleType

from desktop import autostart, file_manager, picker
from desktop.icon import draw_icon
from desktop.tray_backend import icon_class
from server import config, network, runner
from server.library.folders import FolderError

log = logging.getLogger(__name__)

ICON_SIZE = 64
PAIR_PATH = "/pair"


def open_in_browser(url: str) -> None:
    """`webbrowser.open` on a daemon thread: neither the menu nor Quit may wait for it.

    It can block: a `$BROWSER` command it does not know is run to its end (GenericBrowser waits), and
    the first call probes the desktop with `xdg-settings`. On pystray's loop that would freeze the menu.
    """
    threading.Thread(target=webbrowser.open, args=(url,), name="couchcast-browser", daemon=True).start()


class Tray:
    """The icon, its menu and what the menu does, for a server already running.

    `open_url`, `open_folder` and `choose_folder` are how this desktop opens a browser, a file
    manager and the folder dialog; tests give recorders instead, because a menu test must not start
    a real browser (the Xvfb test does, through $BROWSER).
    """

    def __init__(
        self,
        pystray: ModuleType,
        server: runner.ServerHandle,
        *,
        icon_type: type | None = None,
        open_url: Callable[[str], object] = open_in_browser,
        open_folder: Callable[[str], None] = file_manager.open_folder,
        choose_folder: Callable[[], str | None] = picker.choose_folder,
    ):
        self.server = server
        self.shares = server.runtime.shares
        self.config_file = server.runtime.config_file
        self._open_url = open_url
        self._open_folder = open_folder
        self._choose_folder = choose_folder
        self.picker_thread: threading.Thread | None = None
        self.quitting = False
        self._pystray = pystray
        item = pystray.MenuItem
        self.menu = pystray.Menu(
            item("Open Couchcast", self.open_library, default=True),
            item("Phone link", self.open_phone_link),
            item("Add folder…", self.add_folder),
            item("Shared folders", pystray.Menu(self.shared_folder_items)),
            pystray.Menu.SEPARATOR,
            item("Start at login", self.toggle_start_at_login, checked=lambda _: autostart.is_enabled()),
            pystray.Menu.SEPARATOR,
            item("Quit", self.quit),
        )
        icon_type = icon_type or icon_class(pystray)
        self.icon = icon_type("couchcast", draw_icon(ICON_SIZE), self.tooltip(), self.menu)

    def local_url(self, path: str = "/") -> str:
        return network.link(self.server.local_host, self.server.port, self.server.runtime.access_key, path)

    def tooltip(self) -> str:
        # The phone address without the key: a tooltip is seen by anyone at the screen, the key is not.
        # ASCII only: the xorg backend sets it as WM_NAME, which Xlib encodes as latin-1.
        host = network.phone_host() if self.server.host in ("0.0.0.0", "", "::") else self.server.host
        return f"Couchcast - on your phone: http://{host}:{self.server.port}/"

    def tell(self, message: str) -> None:
        """Show a short message as a desktop notification where the tray has them; always log it."""
        log.info("%s", message)
        try:
            self.icon.notify(message, "Couchcast")
        except Exception:  # no notification service on this desktop: the log has it
            log.debug("notification not shown", exc_info=True)

    # Menu actions ---------------------------------------------------------------------------------

    def open_library(self) -> None:
        self._open_url(self.local_url())

    def open_phone_link(self) -> None:
        self._open_url(self.local_url(PAIR_PATH))

    def add_folder(self) -> None:
        """Open the folder dialog on a worker thread: the tray stays responsive while it is open."""
        if self.picker_thread is not None and self.picker_thread.is_alive():
            return  # one dialog at a time; it is already on screen
        self.picker_thread = threading.Thread(
            target=self._pick_and_share, name="couchcast-picker", daemon=True
        )
        self.picker_thread.start()

    def _pick_and_share(self) -> None:
        try:
            chosen = self._choose_folder()
        except picker.PickerError as exc:
            self.tell(str(exc))
            return
        if chosen is None:
            return  # cancelled: nothing changes
        try:
            share = self.shares.share(chosen)
        except FolderError as exc:
            self.tell(str(exc))
            return
        self.icon.update_menu()
        self.tell(f"Now sharing {share.name}.")

    def shared_folder_items(self) -> Iterator[object]:
        """The "Shared folders" submenu's items, made anew whenever pystray rebuilds the menu."""
        shares = self.shares.shared()
        if not shares:
            yield self._pystray.MenuItem("No folders yet", None, enabled=False)
        for share in shares:
            label = share.name if share.available else f"{share.name} (unavailable)"
            yield self._pystray.MenuItem(
                label,
                self._pystray.Menu(
                    self._pystray.MenuItem(
                        "Open in file manager", self._opener(share.path), enabled=share.available
                    ),
                    self._pystray.MenuItem("Remove", self._remover(share.path)),
                ),
            )

    def _opener(self, path: str) -> Callable[[], None]:
        def open_in_file_manager() -> None:
            try:
                self._open_folder(path)
            except OSError as exc:
                self.tell(f"Could not open {path} in the file manager ({exc.strerror or exc}).")

        return open_in_file_manager

    def _remover(self, path: str) -> Callable[[], None]:
        def remove() -> None:
            try:
                self.shares.unshare(path)
            except FolderError as exc:
                self.tell(str(exc))

        return remove

    def toggle_start_at_login(self) -> None:
        wanted = not autostart.is_enabled()
        try:
            autostart.enable() if wanted else autostart.disable()
        except OSError as exc:
            self.tell(f"Could not change start at login ({exc.strerror or exc}).")
            return
        try:
            self.config_file.update(start_at_login=wanted)
        except config.ConfigError as exc:
            self.tell(str(exc))

    def quit(self) -> None:
        self.quitting = True
        self.icon.stop()
