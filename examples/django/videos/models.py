"""What the site keeps of each uploaded video: the results OpenVOD's processing produced."""

from __future__ import annotations

from django.db import models


class Video(models.Model):
    """One uploaded file, by its FileId, with its cover, GIF preview and duration once processed.

    ``result_task_id`` names the processing task whose results are stored: a callback, a pulled
    event or a GetVideoResponse call for the same task finds it there and changes nothing, which
    makes every way results arrive safe to repeat (events are delivered at least once).
    """

    file_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    duration = models.FloatField(null=True, blank=True)  # seconds, from MetaData.Duration
    cover_url = models.URLField(max_length=2000, blank=True)
    gif_url = models.URLField(max_length=2000, blank=True)
    result_task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name or 'video'} ({self.file_id})"
