"""The user's config file: shared folders, port and access key.

Written atomically (temp file + fsync + rename), so a crash or a full disk never leaves half a file.
A file that cannot be read is moved aside, never deleted, and the folder paths that can still be
read out of it are kept, so a damaged file does not silently unshare anybody's folders.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from server.atomic import write_atomically
from server.dirs import UserDirs

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
CONFIG_NAME = "config.json"


@dataclass(frozen=True)
class Config:
    folders: tuple[str, ...] = ()
    port: int = DEFAULT_PORT
    access_key: str = ""
    start_at_login: bool = False

    def to_json(self) -> dict:
        return {
            "folders": list(self.folders),
            "port": self.port,
            "access_key": self.access_key,
            "start_at_login": self.start_at_login,
        }


@dataclass
class LoadResult:
    config: Config
    problems: list[str] = field(default_factory=list)


class ConfigError(Exception):
    """The config could not be saved; the message says why in words a person can act on."""


# What a key may hold: it travels in links, cookies and headers, which carry these as they are.
ACCESS_KEY_LETTERS = frozenset(string.ascii_letters + string.digits + "-._~")


def new_access_key() -> str:
    return secrets.token_urlsafe(18)  # 144 bits, all ACCESS_KEY_LETTERS


def access_key_problem(key: str) -> str | None:
    """Why `key` cannot be the access key, in words for the person who chose it, or None."""
    if not key:
        return "The access key cannot be empty."
    if not set(key) <= ACCESS_KEY_LETTERS:
        return (
            "An access key may only hold the letters A-Z and a-z, digits and - _ . ~ "
            "(it travels in links and cookies)."
        )
    return None


def config_path(dirs: UserDirs) -> Path:
    """Where the config lives among the user dirs."""
    return dirs.config / CONFIG_NAME


class DamagedConfig(ValueError):
    """The file is not a valid config; `salvaged` holds what could still be read out of it."""

    def __init__(self, reason: str, salvaged: Config) -> None:
        super().__init__(reason)
        self.salvaged = salvaged


def _is_port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def _parse(text: str) -> Config:
    """The config in `text`; raises DamagedConfig, keeping every field that is still valid."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise DamagedConfig(f"not valid JSON: {exc}", Config(folders=_salvage_folders(text))) from exc
    if not isinstance(raw, dict):
        raise DamagedConfig("the file does not hold a JSON object", Config(folders=_salvage_folders(text)))
    wrong = []
    folders = raw.get("folders", [])
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        wrong.append('"folders" is not a list of paths')
        folders = [f for f in folders if isinstance(f, str)] if isinstance(folders, list) else []
    port = raw.get("port", DEFAULT_PORT)
    if not _is_port(port):
        wrong.append('"port" is not a port number')
        port = DEFAULT_PORT
    key = raw.get("access_key", "")
    if not isinstance(key, str):
        wrong.append('"access_key" is not text')
        key = ""
    elif key and access_key_problem(key):
        wrong.append('"access_key" holds letters a link cannot carry')
        key = ""
    start_at_login = raw.get("start_at_login", False)
    if not isinstance(start_at_login, bool):
        wrong.append('"start_at_login" is not true or false')
        start_at_login = False
    config = Config(tuple(dict.fromkeys(folders)), port, key, start_at_login)
    if wrong:
        raise DamagedConfig("; ".join(wrong), config)
    return config


def _salvage_folders(text: str) -> tuple[str, ...]:
    """Folder paths still readable in a file that is not JSON: any quoted string that is an existing dir."""
    found = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"', text):
        try:
            candidate = json.loads(f'"{match.group(1)}"')
        except ValueError:
            continue
        if len(candidate) > 1 and os.path.isabs(candidate) and os.path.isdir(candidate):
            found.append(candidate)
    return tuple(dict.fromkeys(found))


def keep_aside(path: Path) -> Path:
    """Move a damaged file (the config, the database) out of the way, beside it, under a name no
    earlier one has: `NAME.corrupt-<time>`. Returns where it went."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while kept.exists():  # two damaged files within a second must not overwrite each other
        number += 1
        kept = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
    os.replace(path, kept)
    return kept


def _decode_damaged(data: bytes) -> Config:
    return Config(folders=_salvage_folders(data.decode("utf-8", errors="replace")))


def _report_unreadable(path: Path, exc: OSError, problems: list[str]) -> bool:
    """Keep an unreadable file aside; True when a fresh one may be written in its place."""
    reason = exc.strerror or str(exc)
    try:
        kept = keep_aside(path)
    except OSError:
        problems.append(
            f"Could not read the config file {path} ({reason}); it was left untouched and defaults are "
            "used for this run (shared folders, port and access key are not the saved ones)."
        )
        return False
    problems.append(
        f"Could not read the config file {path} ({reason}); it was kept as {kept}. "
        "Shared folders, port and access key were reset."
    )
    return True


def _report_damaged(path: Path, exc: Exception, salvaged: Config, problems: list[str]) -> bool:
    """Keep a damaged file aside; True when a fresh one (with what was salvaged) may be written."""
    try:
        kept = keep_aside(path)
    except OSError:
        problems.append(
            f"The config file {path} is damaged ({exc}) and could not be moved aside; it was left "
            f"untouched. Using {len(salvaged.folders)} shared folder(s) read from it for this run."
        )
        return False
    problems.append(
        f"The config file {path} was damaged ({exc}); it was kept as {kept}. "
        f"Recovered {len(salvaged.folders)} shared folder(s) from it; whatever else was not valid "
        "is back to its default (a new access key if the old one was lost)."
    )
    return True


class ConfigFile:
    """One config file: read, saved and changed under one lock (the tray and requests share it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()

    def load(self) -> LoadResult:
        """Read the config, creating it (with a new access key) on first run. Never raises for bad files.

        A file that cannot be read or parsed is kept aside (never overwritten) and reported; whatever it
        still holds (shared folders above all) is carried over into the fresh file.
        """
        with self._lock:
            path = self.path
            problems: list[str] = []
            config = Config()
            # Until a good file is read: write one (first run, or a fresh file in place of a damaged one).
            may_write = save_needed = True
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                pass
            except OSError as exc:
                may_write = _report_unreadable(path, exc, problems)
            else:
                try:
                    config = _parse(data.decode("utf-8"))
                    save_needed = False
                except (UnicodeDecodeError, DamagedConfig) as exc:
                    salvaged = exc.salvaged if isinstance(exc, DamagedConfig) else _decode_damaged(data)
                    config, may_write = salvaged, _report_damaged(path, exc, salvaged, problems)
            if not config.access_key:
                config = replace(config, access_key=new_access_key())
                save_needed = True
            for problem in problems:
                log.warning(problem)
            if save_needed and may_write:
                try:
                    self.save(config)
                except ConfigError as exc:
                    problems.append(str(exc))
            return LoadResult(config, problems)

    def save(self, config: Config) -> None:
        """Replace the config file atomically and durably; on failure the old file is untouched."""
        with self._lock:
            try:
                write_atomically(self.path, json.dumps(config.to_json(), indent=2) + "\n", durable=True)
            except OSError as exc:
                raise ConfigError(
                    f"Could not save the config file {self.path} ({exc.strerror or exc}); "
                    "the previous settings are kept."
                ) from exc

    def update(self, **changes) -> Config:
        """Load, change and save in one step."""
        with self._lock:
            config = replace(self.load().config, **changes)
            self.save(config)
            return config
