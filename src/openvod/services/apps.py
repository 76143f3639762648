"""Apps (tenants) and their API key pairs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openvod.db.models import ApiKey, App, utcnow
from openvod.db.session import Database
from openvod.domain.api_keys import KeyState
from openvod.domain.views.keys import AppView, KeyView
from openvod.errors import AuthFailure, Conflict, InvalidParameter, NotFound
from openvod.ids import new_id
from openvod.services.stored_secrets import open_secret_key, seal_secret_key

__all__ = [
    "AppInfo",
    "AppView",
    "KeyInfo",
    "KeyView",
    "authenticate",
    "console_key",
    "create_app",
    "create_key",
    "default_app",
    "disable_key",
    "ensure_default_app",
    "list_apps",
    "list_keys",
    "lookup_key",
]

DEFAULT_APP_NAME = "default"


# The read models (domain/views/keys.py), under the names the signers and routes have long used.
AppInfo = AppView
KeyInfo = KeyView


def _app(a: App) -> AppInfo:
    return AppInfo(a.id, a.name, a.sub_app_id, a.is_default)


def _key(db: Database, k: ApiKey) -> KeyInfo:
    return KeyInfo(k.secret_id, open_secret_key(db, k.secret_id, k.secret_key), k.app_id, k.state, k.description,
                   k.created_at, k.last_used_at)


def _new_key(db: Database, app_id: str, description: str, pair: tuple[str, str] | None = None) -> ApiKey:
    sid, skey = pair or _new_pair()
    return ApiKey(secret_id=sid, secret_key=seal_secret_key(db, sid, skey), app_id=app_id, description=description)


def _new_pair() -> tuple[str, str]:
    # Tencent-shaped: 36-char SecretId starting with AKID, 32-char SecretKey.
    return "AKID" + secrets.token_hex(16), secrets.token_urlsafe(24)[:32]


def _create_app(s: Session, name: str, *, is_default: bool = False) -> App:
    if not name or len(name) > 128:
        raise InvalidParameter("app name must be 1-128 characters", code="InvalidParameter.AppName")
    if s.scalar(select(App).where(App.name == name)) is not None:
        raise Conflict(f"an app named {name!r} already exists", code="ResourceInUse.App")
    top = s.scalar(select(func.max(App.sub_app_id))) or 1500000000
    app = App(id=new_id("app"), name=name, sub_app_id=top + 1, is_default=is_default)
    s.add(app)
    s.flush()
    return app


def ensure_default_app(db: Database, secret_id: str | None, secret_key: str | None) -> tuple[AppInfo, KeyInfo | None]:
    """Create the default app on first start. Returns the new key pair when one was generated
    (to be printed once), else None. Configured credentials are (re)applied on every start."""
    with db.session() as s:
        app = s.scalar(select(App).where(App.is_default.is_(True)))
        if app is None:
            app = _create_app(s, DEFAULT_APP_NAME, is_default=True)
        generated = None
        if secret_id and secret_key:
            key = s.get(ApiKey, secret_id)
            if key is None:
                s.add(_new_key(db, app.id, "configured", (secret_id, secret_key)))
            elif key.app_id == app.id:
                key.secret_key = seal_secret_key(db, secret_id, secret_key)
                key.state = KeyState.ACTIVE
        elif s.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.app_id == app.id)) == 0:
            k = _new_key(db, app.id, "generated on first start")
            s.add(k)
            s.flush()
            generated = _key(db, k)
        return _app(app), generated


def default_app(db: Database) -> AppInfo:
    with db.session() as s:
        app = s.scalar(select(App).where(App.is_default.is_(True)))
        if app is None:
            raise NotFound("no default app; start the server once", code="ResourceNotFound.App")
        return _app(app)


def create_app(db: Database, name: str) -> tuple[AppInfo, KeyInfo]:
    """A new tenant with its first key pair."""
    with db.session() as s:
        app = _create_app(s, name)
        k = _new_key(db, app.id, "first key")
        s.add(k)
        s.flush()
        return _app(app), _key(db, k)


def list_apps(db: Database) -> list[AppInfo]:
    with db.session() as s:
        return [_app(a) for a in s.scalars(select(App).order_by(App.created_at))]


def _resolve_app(s: Session, app: str | None) -> App:
    if app is None:
        found = s.scalar(select(App).where(App.is_default.is_(True)))
    else:
        found = s.scalar(select(App).where((App.id == app) | (App.name == app)))
    if found is None:
        raise NotFound(f"app {app or DEFAULT_APP_NAME!r} does not exist", code="ResourceNotFound.App")
    return found


def create_key(db: Database, app: str | None = None, description: str = "") -> KeyInfo:
    """A new key pair for ``app`` (id or name; default app when None)."""
    with db.session() as s:
        a = _resolve_app(s, app)
        k = _new_key(db, a.id, description[:256])
        s.add(k)
        s.flush()
        return _key(db, k)


def list_keys(db: Database, app_id: str | None = None) -> list[KeyInfo]:
    with db.session() as s:
        q = select(ApiKey).order_by(ApiKey.created_at)
        if app_id is not None:
            q = q.where(ApiKey.app_id == app_id)
        return [_key(db, k) for k in s.scalars(q)]


def disable_key(db: Database, secret_id: str, *, app_id: str | None = None) -> KeyInfo:
    with db.session() as s:
        k = s.get(ApiKey, secret_id)
        if k is None or (app_id is not None and k.app_id != app_id):
            raise NotFound(f"key {secret_id!r} does not exist", code="ResourceNotFound.SecretId")
        k.state = KeyState.DISABLED
        info = _key(db, k)
    forget_key(secret_id)
    return info


def console_key(db: Database) -> KeyInfo:
    """The key a console-password session acts with: the default app's oldest active key."""
    with db.session() as s:
        app = _resolve_app(s, None)
        k = s.scalar(select(ApiKey).where(ApiKey.app_id == app.id, ApiKey.state == KeyState.ACTIVE)
                     .order_by(ApiKey.created_at, ApiKey.secret_id).limit(1))
        if k is None:
            raise AuthFailure(f"the default app {app.id} has no active key for the console to act with; "
                              "create one with `openvod keys create`", code="AuthFailure.NoActiveKey")
        return _key(db, k)


def lookup_key(db: Database, secret_id: str) -> KeyInfo | None:
    with db.session() as s:
        k = s.get(ApiKey, secret_id)
        return _key(db, k) if k else None


# A verified key pair is trusted for AUTH_CACHE_SECONDS without another database read, so a
# disabled key stops working within that time (per process). Keyed by a digest of the pair.
AUTH_CACHE_SECONDS = 2.0
_auth_cache: dict[tuple[int, str], tuple[float, KeyInfo]] = {}
_auth_lock = threading.Lock()


def _cache_key(db: Database, secret_id: str, secret_key: str) -> tuple[int, str]:
    return id(db), hashlib.sha256(f"{secret_id}\0{secret_key}".encode()).hexdigest()


def cached_key(db: Database, secret_id: str, secret_key: str) -> KeyInfo | None:
    """A recent successful verification of this pair, without I/O (None when there is none)."""
    with _auth_lock:
        hit = _auth_cache.get(_cache_key(db, secret_id, secret_key))
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def authenticate(db: Database, secret_id: str, secret_key: str) -> KeyInfo:
    """Check a key pair (constant time). Raises ``AuthFailure`` with a specific code."""
    if (hit := cached_key(db, secret_id, secret_key)) is not None:
        return hit
    cache_key, now = _cache_key(db, secret_id, secret_key), time.monotonic()
    info = _authenticate(db, secret_id, secret_key)
    with _auth_lock:
        if len(_auth_cache) > 10_000:
            _auth_cache.clear()
        _auth_cache[cache_key] = (now + AUTH_CACHE_SECONDS, info)
    return info


def forget_key(secret_id: str) -> None:
    """Drop cached verifications of a key (after disabling it in this process)."""
    with _auth_lock:
        for k in [k for k, (_, info) in _auth_cache.items() if info.secret_id == secret_id]:
            del _auth_cache[k]


def _authenticate(db: Database, secret_id: str, secret_key: str) -> KeyInfo:
    with db.session() as s:
        k = s.get(ApiKey, secret_id)
        # Compare against a dummy when the id is unknown, so timing doesn't reveal valid ids.
        info = _key(db, k) if k else None
        expected = info.secret_key if info else secrets.token_urlsafe(24)
        ok = hmac.compare_digest(expected.encode(), secret_key.encode())
        # Tencent's codes: an unknown id is SecretIdNotFound, a known id with the wrong key a SignatureFailure.
        if k is None or info is None:
            raise AuthFailure(f"SecretId {secret_id} is unknown", code="AuthFailure.SecretIdNotFound")
        if not ok:
            raise AuthFailure(f"the SecretKey is wrong for SecretId {secret_id}", code="AuthFailure.SignatureFailure")
        if k.state != KeyState.ACTIVE:
            raise AuthFailure(f"key {secret_id} is disabled", code="AuthFailure.SecretIdDisabled")
        now = utcnow()
        if k.last_used_at is None or (now - k.last_used_at).total_seconds() > 60:
            k.last_used_at = now  # throttled: not a write per request
            info = replace(info, last_used_at=now)
        return info
