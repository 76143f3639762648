"""Who is calling: the TC3-HMAC-SHA256 signature is checked against the API key's secret, and the
key's app, or the app ``SubAppId`` names, is the one the action acts on."""

from __future__ import annotations

import time
from collections.abc import Callable

from openvod.auth.tc3 import verify_tc3
from openvod.errors import AuthFailure, InvalidParameter
from openvod.services import apps
from openvod.services.context import Context

__all__ = ["authenticate"]


def _lookup(ctx: Context) -> Callable[[str], str | None]:
    def lookup(secret_id: str) -> str | None:
        k = apps.lookup_key(ctx.db, secret_id)
        return k.secret_key if k is not None and k.state == "active" else None
    return lookup


def _resolve_app(ctx: Context, key_app_id: str, sub_app_id: int | None) -> str:
    if not sub_app_id:
        return key_app_id
    all_apps = apps.list_apps(ctx.db)
    target = next((a for a in all_apps if a.sub_app_id == sub_app_id), None)
    key_app = next((a for a in all_apps if a.id == key_app_id), None)
    if target is None:
        raise InvalidParameter(f"SubAppId {sub_app_id} does not exist", code="InvalidParameterValue.SubAppId")
    if target.id != key_app_id and not (key_app is not None and key_app.is_default):
        raise AuthFailure(f"this key may not act on SubAppId {sub_app_id}", code="AuthFailure.UnauthorizedOperation")
    return target.id


def authenticate(ctx: Context, method: str, query: str, headers: dict[str, str], body: bytes,
                 sub_app_id: int | None) -> str:
    """The id of the app the signed request acts on (blocking: run it in a thread).

    ``headers`` have lower-case names. Raises :class:`AuthFailure` for a bad signature or key, or a
    ``SubAppId`` the key may not reach, and :class:`InvalidParameter` for an unknown ``SubAppId``.
    """
    secret_id = verify_tc3(method, query, headers, body, _lookup(ctx), now=time.time())
    key = apps.lookup_key(ctx.db, secret_id)
    if key is None:
        raise AuthFailure(f"SecretId {secret_id} is unknown", code="AuthFailure.SecretIdNotFound")
    return _resolve_app(ctx, key.app_id, sub_app_id)
