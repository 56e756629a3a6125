"""Which folders are shared now: the saved ones (config) plus those given to `serve` for this run.

These plain functions are what the desktop shell uses to add and remove folders; each folder keeps
a stable id from the database so links and watch progress survive restarts.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from server import config

log = logging.getLogger(__name__)
_lock = threading.RLock()
_saved: list[str] = []
_this_run: list[str] = []
_ids: dict[str, int] = {}


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


def _folder_id(path: str) -> int:
    folder_id = _ids.get(path)
    if folder_id is None:
        from server.library.models import SharedFolder

        folder_id = SharedFolder.objects.get_or_create(path=path)[0].id
        _ids[path] = folder_id
    return folder_id


def load_saved(saved: config.Config) -> None:
    """Take the saved folders from the config the caller loaded (and reported the problems of)."""
    with _lock:
        _saved[:] = [normalize(p) for p in saved.folders]


def share_for_this_run(paths: list[str]) -> list[str]:
    """Share folders until the process ends (serve's arguments); returns a message per bad one."""
    problems = []
    with _lock:
        for path in map(normalize, paths):
            problem = folder_problem(path)
            if problem:
                problems.append(problem)
            if path not in _saved and path not in _this_run:
                _this_run.append(path)
    return problems


def share(path: str | os.PathLike) -> Share:
    """Share a folder and remember it in the config. Raises FolderError when it cannot be."""
    path = normalize(path)
    problem = folder_problem(path)
    if problem:
        raise FolderError(problem)
    with _lock:
        if path not in _saved:
            try:
                config.update(folders=(*_saved, path))
            except config.ConfigError as exc:
                raise FolderError(str(exc)) from exc
            _saved.append(path)
        if path in _this_run:
            _this_run.remove(path)
        return Share(_folder_id(path), path, True, None)


def unshare(path: str | os.PathLike) -> None:
    """Stop sharing a folder (and forget it in the config). Nothing on disk is touched."""
    path = normalize(path)
    with _lock:
        if path in _saved:
            remaining = tuple(p for p in _saved if p != path)
            try:
                config.update(folders=remaining)
            except config.ConfigError as exc:
                raise FolderError(str(exc)) from exc
            _saved.remove(path)
        if path in _this_run:
            _this_run.remove(path)


def shared() -> list[Share]:
    """Every shared folder, saved ones first, with a problem message for those unavailable now."""
    with _lock:
        paths = [(p, True) for p in _saved] + [(p, False) for p in _this_run]
        return [Share(_folder_id(p), p, saved, folder_problem(p)) for p, saved in paths]


def available(folder_id: int) -> Share | None:
    """The shared folder with this id, if it is shared and can be served now."""
    with _lock:
        for path in (*_saved, *_this_run):
            if _folder_id(path) == folder_id:  # cached after the first call: no query per request
                return None if folder_problem(path) else Share(folder_id, path, path in _saved, None)
    return None
