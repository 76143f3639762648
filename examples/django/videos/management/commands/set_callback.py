"""``python manage.py set_callback URL``: have OpenVOD push the app's events to ``URL`` (this site's
``/vod/callback/``) and print the secret the pushes are signed with (``OPENVOD_CALLBACK_SECRET``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from videos.vod import openvod_client


class Command(BaseCommand):
    help = "Set the app's push callback URL on OpenVOD and print its signing secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="e.g. https://your.site/vod/callback/")

    def handle(self, *args: Any, **options: Any) -> None:
        with openvod_client() as vod:
            callback = vod.set_callback(options["url"])
        self.stdout.write(f"OpenVOD now pushes events to {callback.url}")
        self.stdout.write(f"export OPENVOD_CALLBACK_SECRET={callback.secret}")
