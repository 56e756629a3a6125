from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "server.streaming"
    label = "streaming"
