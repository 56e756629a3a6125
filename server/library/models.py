"""What the library remembers in SQLite: shared folders, the index of their media files, watch progress."""

from django.db import models


class SharedFolder(models.Model):
    """A folder that has been shared at least once; its id stays stable so links and progress last.

    Whether it is shared *now* is decided by the config (and `serve`'s arguments), not by this row.
    """

    path = models.CharField(max_length=4096, unique=True)
    first_shared = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.path


class MediaFile(models.Model):
    """One video or audio file in a shared folder, as the scanner last saw it.

    `size` and `mtime_ns` are what decide "changed": a changed file is described again (probe,
    duration, thumbnail); an unchanged one never is.
    """

    class Info(models.TextChoices):
        PENDING = "pending"  # waits for ffmpeg (or there is none)
        READY = "ready"  # probed; duration and thumbnail filled in where the file has them
        FAILED = "failed"  # ffmpeg could not read it: not tried again until the file changes

    folder = models.ForeignKey(SharedFolder, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=4096)  # POSIX, relative to the shared folder
    directory = models.CharField(max_length=4096)  # the parent of `path`, "" at the top
    name = models.CharField(max_length=1024)
    kind = models.CharField(max_length=8)  # "video" or "audio"
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    added = models.DateTimeField()
    subtitles = models.JSONField(default=list)  # [[relative path, language or null, label], ...]
    info = models.CharField(max_length=8, choices=Info.choices, default=Info.PENDING)
    duration = models.FloatField(null=True)
    probe = models.JSONField(null=True)  # probe.MediaInfo.to_json()
    thumbnail = models.CharField(max_length=64, blank=True)  # the cache key once a thumbnail is made

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "path"], name="unique_file_per_folder")]
        indexes = [
            models.Index(fields=["folder", "directory"]),
            models.Index(fields=["info"]),
        ]

    def __str__(self) -> str:
        return self.path


class WatchProgress(models.Model):
    """Where a file was left off, one per file for the whole household (no accounts: any device resumes it).

    Keyed by folder and path rather than tied to the index row, so a drive unplugged for an evening
    does not lose anybody's place.
    """

    folder = models.ForeignKey(SharedFolder, on_delete=models.CASCADE, related_name="progress")
    path = models.CharField(max_length=4096)
    position = models.FloatField(default=0)  # seconds; 0 after it was played to the end
    duration = models.FloatField(null=True)
    watched = models.BooleanField(default=False)  # played to the end at least once
    updated = models.DateTimeField()
    # The tracks chosen for this file, chosen again when it is resumed: the sound track's stream
    # index (None: not chosen, the player picks by the phone's language) and the subtitles' choice
    # as the player names it ("": not chosen, "off", "e<number>" embedded, "s:<file name>" beside it).
    audio = models.IntegerField(null=True)
    subtitles = models.CharField(max_length=1024, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "path"], name="unique_progress_per_file")]
        indexes = [models.Index(fields=["-updated"])]

    def __str__(self) -> str:
        return f"{self.path} @ {self.position:.0f}s"
