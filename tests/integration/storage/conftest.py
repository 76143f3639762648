"""Storage backends under test: every storage test runs against ``local`` and ``s3`` (moto)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from openvod.storage.base import Storage
from openvod.storage.local import LocalStorage
from openvod.storage.s3 import S3Storage
from tests.s3server import moto_server

BUCKET = "media"
PART_SIZE = 5 * 1024 * 1024  # S3's minimum, so a few MiB of test data spans several parts

SignerCall = tuple[str, str, int, str]


@dataclass
class StorageCase:
    """One backend. ``reopen()`` builds a fresh instance over the same data: a server restart."""

    kind: str
    storage: Storage
    reopen: Callable[[], Storage]
    signer_calls: list[SignerCall] = field(default_factory=list)
    endpoint: str | None = None
    physical_bucket: str = BUCKET
    spool_dir: Path | None = None
    bucket: str = BUCKET


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _local_case(tmp_path: Path) -> StorageCase:
    calls: list[SignerCall] = []

    def signer(bucket: str, key: str, expires: int, method: str) -> str:
        calls.append((bucket, key, expires, method))
        return f"https://vod.example/objects/{bucket}/{key}?expires={expires}"

    def make() -> Storage:
        return LocalStorage(tmp_path / "objects", signer=signer)

    return StorageCase("local", make(), make, signer_calls=calls)


def _s3_case(tmp_path: Path, endpoint: str) -> StorageCase:
    # One moto server serves the session; a prefix per test keeps tests apart.
    prefix = f"t{secrets.token_hex(4)}-"
    spool = tmp_path / "spool"

    def make() -> Storage:
        return S3Storage(endpoint, "testing", "testing", bucket_prefix=prefix, part_size=PART_SIZE, spool_dir=spool)

    return StorageCase("s3", make(), make, endpoint=endpoint, physical_bucket=prefix + BUCKET, spool_dir=spool)


@pytest.fixture(params=["local", "s3"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> StorageCase:
    """Each backend in turn (moto starts only when an ``s3`` case runs)."""
    if request.param == "local":
        built = _local_case(tmp_path)
    else:
        built = _s3_case(tmp_path, request.getfixturevalue("moto_endpoint"))
    built.storage.ensure_bucket(BUCKET)
    return built


@pytest.fixture()
def s3_case(tmp_path: Path, moto_endpoint: str) -> StorageCase:
    """The ``s3`` backend alone, for tests of its multipart internals."""
    built = _s3_case(tmp_path, moto_endpoint)
    built.storage.ensure_bucket(BUCKET)
    return built
