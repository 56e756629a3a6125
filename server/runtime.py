"""One running server's state, owned in one place: `Runtime`.

A runtime owns the access key and its wrong-key record, the shared folders, the library index's
bookkeeping and scanner, thumbnails, the timeline reader and the conversion scheduler, all under its
own user dirs. `server.runner.start()` builds the WSGI application around one runtime; stopping that
server stops its runtime and nothing else, so two servers in one process never see each other.

Django code reaches the runtime of the request it answers through `runtime_of(request)`: the
outermost WSGI layer (`server.streaming.fast_path.MediaFastPath`) puts it into the WSGI environ.
Settings from the environment are read once, into `server.options.RuntimeOptions`, by whoever
builds the runtime.

What stays per process is what Django itself is per process: the settings module and the one SQLite
database (docs/design.md, "Who owns what").
"""

from __future__ import annotations

import atexit

from django.http import HttpRequest

from server.access.keys import AccessKeys
from server.config import ConfigFile, config_path
from server.dirs import UserDirs
from server.library.folders import Shares
from server.library.index import LibraryIndex
from server.library.scanner import Scanner
from server.library.thumbnails import ThumbnailCache
from server.options import RuntimeOptions
from server.transcode.media import TimelineJobs
from server.transcode.scheduler import Scheduler

ENVIRON_KEY = "couchcast.runtime"


class Runtime:
    """Everything one server holds while it runs. Build it, `start()` it, `stop()` it once."""

    def __init__(
        self,
        dirs: UserDirs,
        access_key: str,
        *,
        saved_folders: tuple[str, ...] = (),
        folders_this_run: tuple[str, ...] = (),
        options: RuntimeOptions | None = None,
    ) -> None:
        self.dirs = dirs
        self.options = options or RuntimeOptions()
        self.config_file = ConfigFile(config_path(dirs))
        self.keys = AccessKeys(access_key)
        self.shares = Shares(self.config_file, saved_folders, folders_this_run)
        self.index = LibraryIndex()
        self.thumbnails = ThumbnailCache(dirs.cache / "thumbnails")
        self.scanner = Scanner(
            self.shares,
            self.index,
            self.thumbnails,
            interval=self.options.scan_interval,
            rescan_interval=self.options.rescan_interval,
            notifications=self.options.watch,
            retry_after=self.options.describe_retry,
        )
        self.timelines = TimelineJobs(dirs.cache / "timelines")
        self.scheduler = Scheduler(dirs.cache / "hls", capacity=self.options.conversion_cores)
        self.subtitle_cache = dirs.cache / "subtitles"
        self.subtitle_file_cache = dirs.cache / "subtitle-files"

    @property
    def access_key(self) -> str:
        return self.keys.key

    def start(self) -> None:
        """Begin the background work: the scanner; segments a killed earlier run left are removed."""
        self.dirs.create()
        self.scheduler.remove_stale_segments()
        # No ffmpeg outlives the process, even one that ends without stop() (an unhandled exception).
        atexit.register(self.scheduler.stop_all)
        self.scanner.start()

    def stop(self) -> None:
        """End this server's background work: its conversions, its scanner, its timeline reads."""
        self.scheduler.stop_all()
        atexit.unregister(self.scheduler.stop_all)
        self.scanner.stop()
        self.timelines.stop()


def runtime_of(request: HttpRequest) -> Runtime:
    """The runtime of the server answering `request`: the one documented way views reach state."""
    return request.META[ENVIRON_KEY]
