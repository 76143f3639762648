"""Key pair (SecretId/SecretKey) states: the words stored in ``api_key.state``."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["KeyState"]


class KeyState(StrEnum):
    """Only an ``active`` key authenticates; ``disabled`` is kept so its id is never reused."""

    ACTIVE = "active"
    DISABLED = "disabled"
