from django.apps import AppConfig


class TranscodeConfig(AppConfig):
    name = "server.transcode"
    label = "transcode"
