"""How ``openvod serve`` and ``openvod worker`` log: text to read, or JSON lines to collect.

``log_format = "json"`` (``OPENVOD_LOG_FORMAT=json``) writes one JSON object a line to stderr,
which Loki, Elasticsearch or CloudWatch take without a parser::

    {"time": "2025-01-31T12:00:00.123Z", "level": "ERROR", "logger": "openvod.engine",
     "message": "step 12 failed", "exception": "Traceback (most recent call last): ..."}

``exception`` (the formatted traceback) and ``stack`` appear only when the record has them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from openvod.config import Settings

__all__ = ["TEXT_FORMAT", "JsonFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601 with ms), ``level``, ``logger``,
    ``message``, and ``exception`` / ``stack`` when present. Newlines stay inside the strings."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, str] = {
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            # Cached like logging.Formatter does, so other handlers of the record reuse it.
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, level: int | str = logging.INFO) -> None:
    """Send the root logger's records at ``level`` and above to stderr in ``settings.log_format``,
    replacing handlers set before (a second call reconfigures, it does not add a second handler)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
