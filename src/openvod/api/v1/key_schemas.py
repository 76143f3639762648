"""Schemas of ``/v1/keys``: the calling app's key pairs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from openvod.domain.times import iso_s, iso_s_or_none
from openvod.domain.views.keys import KeyView

__all__ = ["KeyCreate", "KeyList", "KeyPublic"]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(default="", max_length=256)


class KeyPublic(BaseModel):
    secret_id: str
    state: str
    description: str
    created_at: str
    last_used_at: str | None
    secret_key: str | None = Field(default=None, description="only in the answer that creates the key")

    @classmethod
    def from_view(cls, k: KeyView, *, with_secret: bool = False) -> KeyPublic:
        return cls(secret_id=k.secret_id, state=k.state, description=k.description, created_at=iso_s(k.created_at),
                   last_used_at=iso_s_or_none(k.last_used_at), secret_key=k.secret_key if with_secret else None)


class KeyList(BaseModel):
    items: list[KeyPublic]
