"""Console session tokens: a forged-looking expiry is a refused session, never a server error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from openvod.api.deps import _mac, issue_session, read_session
from openvod.config import Settings
from openvod.services.context import build_context


@pytest.mark.parametrize("expires", ["²", "٣٣٣٣٣٣٣٣٣٣", "9" * 20, "-1", ""])
def test_a_signed_token_with_a_non_ascii_or_oversized_expiry_is_refused(tmp_path: Path, expires: str) -> None:
    ctx = build_context(Settings(data_dir=tmp_path / "data", workers=0))
    try:
        session = read_session(ctx, issue_session(ctx, "app1", "AKIDx", 3600))
        assert session is not None and session.expires > time.time()
        payload = f"app1.AKIDx.{expires}"  # correctly MACed: only the number is wrong
        assert read_session(ctx, f"{payload}.{_mac(ctx, 'session', payload)}") is None
    finally:
        ctx.db.dispose()
