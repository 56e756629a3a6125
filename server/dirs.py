"""Where Couchcast keeps its files: the platform's user dirs, or all under `COUCHCAST_HOME`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Couchcast"


@dataclass(frozen=True)
class UserDirs:
    config: Path
    data: Path
    cache: Path
    logs: Path

    def create(self) -> None:
        for path in (self.config, self.data, self.cache, self.logs):
            path.mkdir(parents=True, exist_ok=True)


def user_dirs() -> UserDirs:
    """The dirs for this process; `COUCHCAST_HOME=DIR` puts everything under DIR (tests, portable use)."""
    home = os.environ.get("COUCHCAST_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return UserDirs(root / "config", root / "data", root / "cache", root / "logs")
    return UserDirs(
        config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
