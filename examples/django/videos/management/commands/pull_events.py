"""``python manage.py pull_events``: consume OpenVOD's events (Tencent's reliable callback) forever,
or ``--once`` (one PullEvents, for cron or a test)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from videos.events import pull_once
from videos.vod import tencent_client

BACKOFF_FIRST, BACKOFF_CAP = 1.0, 30.0  # seconds, after a failed PullEvents


class Command(BaseCommand):
    help = "Pull OpenVOD's events (PullEvents), store covers, GIFs and durations, confirm (ConfirmEvents)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one PullEvents, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        client = tencent_client()
        if options["once"]:
            self._report(pull_once(client))
            return
        delay = BACKOFF_FIRST
        while True:  # no spin: PullEvents itself waits (5 s) when nothing is queued
            try:
                self._report(pull_once(client))
                delay = BACKOFF_FIRST
            except TencentCloudSDKException as exc:
                self.stderr.write(f"PullEvents failed ({exc.get_code()}: {exc.get_message()}); again in {delay:g} s")
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)

    def _report(self, outcomes: list[Any]) -> None:
        stored = sum(o.stored for o in outcomes)
        if outcomes:
            self.stdout.write(f"{len(outcomes)} events, {stored} stored, {len(outcomes) - stored} nothing new")
