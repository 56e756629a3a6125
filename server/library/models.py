"""What the library remembers in SQLite."""

from django.db import models


class SharedFolder(models.Model):
    """A folder that has been shared at least once; its id stays stable so links and progress last.

    Whether it is shared *now* is decided by the config (and `serve`'s arguments), not by this row.
    """

    path = models.CharField(max_length=4096, unique=True)
    first_shared = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.path
