"""Read models of apps (tenants) and their API key pairs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["AppView", "KeyView"]


@dataclass(frozen=True)
class AppView:
    id: str
    name: str
    sub_app_id: int
    is_default: bool


@dataclass(frozen=True)
class KeyView:
    """A key pair with its secret in clear (only the services and the signers see it; the native
    API shows it once, when the key is created)."""

    secret_id: str
    secret_key: str
    app_id: str
    state: str
    description: str
    created_at: datetime
    last_used_at: datetime | None
