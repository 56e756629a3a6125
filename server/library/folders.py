"""Which folders a server shares now: the saved ones (config) plus those given to `serve` for this run."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from server import config

log = logging.getLogger(__name__)


class FolderError(Exception):
    """A folder cannot be shared; the message names it and says why."""


@dataclass(frozen=True)
class Share:
    id: int
    path: str
    saved: bool
    problem: str | None  # None when the folder can be served now

    @property
    def name(self) -> str:
        return os.path.basename(self.path.rstrip(os.sep)) or self.path

    @property
    def available(self) -> bool:
        return self.problem is None


def normalize(path: str | os.PathLike) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def folder_problem(path: str) -> str | None:
    """Why a folder cannot be served, in words a person can act on, or None."""
    if not os.path.exists(path):
        return f"Folder {path} does not exist (moved, renamed, or a drive not plugged in)."
    if not os.path.isdir(path):
        return f"{path} is not a folder."
    if not os.access(path, os.R_OK | os.X_OK):
        return f"Folder {path} is not readable (permission denied)."
    return None


class Shares:
    """The folders one server shares: the saved ones (its config file) and those for this run only.

    Each folder keeps a stable id from the database, so links and watch progress survive restarts.
    Adding and removing folders goes through here (the tray, at run time); requests and the scanner
    read `shared()` and `available()`.
    """

    def __init__(
        self, config_file: config.ConfigFile, saved: tuple[str, ...] = (), this_run: tuple[str, ...] = ()
    ):
        self._config_file = config_file
        self._lock = threading.RLock()
        self._saved = [normalize(p) for p in saved]
        self._this_run: list[str] = []
        self._ids: dict[str, int] = {}
        self.problems = self.share_for_this_run(this_run)

    def _folder_id(self, path: str) -> int:
        folder_id = self._ids.get(path)
        if folder_id is None:
            from server.library.models import SharedFolder

            folder_id = SharedFolder.objects.get_or_create(path=path)[0].id
            self._ids[path] = folder_id
        return folder_id

    def share_for_this_run(self, paths) -> list[str]:
        """Share folders until the server stops (serve's arguments); returns a message per bad one."""
        problems = []
        with self._lock:
            for path in map(normalize, paths):
                problem = folder_problem(path)
                if problem:
                    problems.append(problem)
                if path not in self._saved and path not in self._this_run:
                    self._this_run.append(path)
        return problems

    def share(self, path: str | os.PathLike) -> Share:
        """Share a folder and remember it in the config. Raises FolderError when it cannot be."""
        path = normalize(path)
        problem = folder_problem(path)
        if problem:
            raise FolderError(problem)
        with self._lock:
            if path not in self._saved:
                try:
                    self._config_file.update(folders=(*self._saved, path))
                except config.ConfigError as exc:
                    raise FolderError(str(exc)) from exc
                self._saved.append(path)
            if path in self._this_run:
                self._this_run.remove(path)
            return Share(self._folder_id(path), path, True, None)

    def unshare(self, path: str | os.PathLike) -> None:
        """Stop sharing a folder (and forget it in the config). Nothing on disk is touched."""
        path = normalize(path)
        with self._lock:
            if path in self._saved:
                remaining = tuple(p for p in self._saved if p != path)
                try:
                    self._config_file.update(folders=remaining)
                except config.ConfigError as exc:
                    raise FolderError(str(exc)) from exc
                self._saved.remove(path)
            if path in self._this_run:
                self._this_run.remove(path)

    def shared(self) -> list[Share]:
        """Every shared folder, saved ones first, with a problem message for those unavailable now."""
        with self._lock:
            paths = [(p, True) for p in self._saved] + [(p, False) for p in self._this_run]
            return [Share(self._folder_id(p), p, saved, folder_problem(p)) for p, saved in paths]

    def available(self, folder_id: int) -> Share | None:
        """The shared folder with this id, if it is shared and can be served now."""
        with self._lock:
            for path in (*self._saved, *self._this_run):
                if self._folder_id(path) == folder_id:  # cached after the first call: no query per request
                    return None if folder_problem(path) else Share(folder_id, path, path in self._saved, None)
        return None

    def available_or_404(self, folder_id: int | str) -> Share:
        """The shared folder a URL names, or the one 404 every view gives for a folder it cannot serve."""
        from django.http import Http404

        share = self.available(int(folder_id))
        if share is None:
            raise Http404("This folder is not shared or not available now.")
        return share
