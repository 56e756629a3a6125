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
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from server.dirs import user_dirs

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
CONFIG_NAME = "config.json"
_lock = threading.RLock()


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


def new_access_key() -> str:
    return secrets.token_urlsafe(18)  # 144 bits


def config_path() -> Path:
    return user_dirs().config / CONFIG_NAME


def _parse(text: str) -> Config:
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("the file does not hold a JSON object")
    folders = raw.get("folders", [])
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise ValueError('"folders" is not a list of paths')
    port = raw.get("port", DEFAULT_PORT)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ValueError('"port" is not a port number')
    key = raw.get("access_key", "")
    if not isinstance(key, str):
        raise ValueError('"access_key" is not text')
    return Config(
        folders=tuple(dict.fromkeys(folders)),
        port=port,
        access_key=key,
        start_at_login=bool(raw.get("start_at_login", False)),
    )


def _salvage_folders(text: str) -> tuple[str, ...]:
    """Folder paths still readable in a damaged file: any quoted string that is an existing dir."""
    found = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"', text):
        try:
            candidate = json.loads(f'"{match.group(1)}"')
        except ValueError:
            continue
        if len(candidate) > 1 and os.path.isabs(candidate) and os.path.isdir(candidate):
            found.append(candidate)
    return tuple(dict.fromkeys(found))


def load() -> LoadResult:
    """Read the config, creating it (with a new access key) on first run. Never raises for bad files."""
    with _lock:
        path = config_path()
        problems: list[str] = []
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except (OSError, UnicodeDecodeError) as exc:
            text = None
            problems.append(f"Could not read the config file {path} ({exc}); using defaults.")
        config = Config()
        if text is not None:
            try:
                config = _parse(text)
            except ValueError as exc:
                kept = path.with_name(f"{CONFIG_NAME}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
                try:
                    os.replace(path, kept)
                    where = f"it was kept as {kept}"
                except OSError:
                    where = "it was left where it is"
                salvaged = _salvage_folders(text)
                config = Config(folders=salvaged)
                problems.append(
                    f"The config file {path} was damaged ({exc}); {where}. "
                    f"Recovered {len(salvaged)} shared folder(s) from it; port and access key were reset."
                )
        if not config.access_key:
            config = replace(config, access_key=new_access_key())
        for problem in problems:
            log.warning(problem)
        if text is None or problems or not _parse_ok(text, config):
            try:
                save(config)
            except ConfigError as exc:
                problems.append(str(exc))
        return LoadResult(config, problems)


def _parse_ok(text: str, config: Config) -> bool:
    try:
        return _parse(text) == config
    except ValueError:
        return False


def save(config: Config) -> None:
    """Replace the config file atomically; on failure the old file is untouched."""
    with _lock:
        path = config_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(config.to_json(), out, indent=2)
                    out.write("\n")
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ConfigError(
                f"Could not save the config file {path} ({exc.strerror or exc}); "
                "the previous settings are kept."
            ) from exc


def update(**changes) -> Config:
    """Load, change and save in one step (thread-safe within this process)."""
    with _lock:
        config = replace(load().config, **changes)
        save(config)
        return config
