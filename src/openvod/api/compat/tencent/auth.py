"""Who is calling: the TC3-HMAC-SHA256 signature is checked against the API key's secret, and the
key's app, or the app ``SubAppId`` names, is the one the action acts on.

A signature is accepted once per (action, query, body) while its timestamp is in the skew window:
the official SDKs do not sign ``X-TC-Action``, so without this memory a captured request could be
resent as another action (see :mod:`openvod.auth.replay`). The memory lives in this process,
which is right for ``openvod serve`` (one process); several API processes behind one load
balancer would each keep their own, so route a client to one process or put the guard in a
shared store first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from openvod.auth.replay import ReplayGuard
from openvod.auth.tc3 import REPLAY_WINDOW, verify_tc3
from openvod.domain.api_keys import KeyState
from openvod.errors import AuthFailure, InvalidParameter
from openvod.runtime import Context
from openvod.services import apps

__all__ = ["REPLAY_GUARD", "authenticate", "authenticate_key"]

REPLAY_GUARD = ReplayGuard(REPLAY_WINDOW)


def _lookup(ctx: Context) -> Callable[[str], str | None]:
    def lookup(secret_id: str) -> str | None:
        k = apps.lookup_key(ctx.db, secret_id)
        return k.secret_key if k is not None and k.state == KeyState.ACTIVE else None
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


def authenticate_key(ctx: Context, method: str, query: str, headers: dict[str, str], body: bytes,
                     sub_app_id: int | None) -> tuple[str, str]:
    """``(app id, SecretId)``: the app the signed request acts on and the key that signed it
    (blocking: run it in a thread).

    ``headers`` have lower-case names. Raises :class:`AuthFailure` for a bad signature or key, a
    signature reused for another action or body, or a ``SubAppId`` the key may not reach, and
    :class:`InvalidParameter` for an unknown ``SubAppId``.
    """
    from openvod.api.compat.tencent.endpoint import ACTIONS  # the endpoint imports this module

    # A request for an action OpenVOD does not have runs nothing, so it does not bind its signature.
    replay = REPLAY_GUARD if headers.get("x-tc-action", "") in ACTIONS else None
    secret_id = verify_tc3(method, query, headers, body, _lookup(ctx), now=time.time(), replay=replay)
    key = apps.lookup_key(ctx.db, secret_id)
    if key is None:
        raise AuthFailure(f"SecretId {secret_id} is unknown", code="AuthFailure.SecretIdNotFound")
    return _resolve_app(ctx, key.app_id, sub_app_id), secret_id


def authenticate(ctx: Context, method: str, query: str, headers: dict[str, str], body: bytes,
                 sub_app_id: int | None) -> str:
    """The id of the app the signed request acts on (see :func:`authenticate_key`)."""
    return authenticate_key(ctx, method, query, headers, body, sub_app_id)[0]
