from django.apps import AppConfig


class TranscodeConfig(AppConfig):
    name = "server.transcode"
    label = "transcode"

    def ready(self) -> None:
        from server.transcode import scheduler

        # Segments left by a previous run that ended without stop_all() (a crash, a kill -9).
        scheduler.remove_stale_segments()
