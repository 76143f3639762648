"""Download a user-given http(s) URL to a file, safely: the server side of "pull upload".

The server fetches URLs that users choose, so the fetch must not become a way into the server's
own network (SSRF). :func:`fetch_to_file` follows redirects itself and connects through a
:class:`~openvod.net.transport.GuardedBackend`, which checks the address actually connected to on
every hop; it never uses an environment proxy. Size and time are bounded: ``max_size`` bytes and
one overall ``timeout`` for the whole fetch, redirects included.
"""

from __future__ import annotations

import email.message
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import httpx

from openvod.errors import InvalidParameter, PayloadTooLarge, StorageError, UpstreamError
from openvod.net.transport import CODE_FORBIDDEN, GuardedBackend, GuardedTransport, Resolver, system_resolver

__all__ = [
    "CODE_FORBIDDEN",
    "CODE_PULL_FAILED",
    "CODE_TIMEOUT",
    "CODE_TOO_MANY_REDIRECTS",
    "CODE_URL",
    "FetchResult",
    "UpstreamStatusError",
    "fetch_to_file",
]

CODE_URL = "InvalidParameter.Url"
CODE_TIMEOUT = "FailedOperation.PullTimeout"
CODE_PULL_FAILED = "FailedOperation.PullFailed"
CODE_TOO_MANY_REDIRECTS = "FailedOperation.PullTooManyRedirects"

_SCHEMES = frozenset({"http", "https"})
_CHUNK = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class FetchResult:
    """What a fetch wrote: the URL after redirects, the byte count, and hints for naming it.

    ``content_type`` is the bare media type (``video/mp4``) or ``None``; ``filename`` comes from
    ``Content-Disposition`` or else the last segment of the final URL's path, stripped of any
    directory part, or is ``None``.
    """

    final_url: str
    size: int
    content_type: str | None
    filename: str | None


class UpstreamStatusError(UpstreamError):
    """The remote server answered with a non-2xx status, kept in ``upstream_status``."""

    default_code = CODE_PULL_FAILED

    def __init__(self, message: str, *, upstream_status: int) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status


def fetch_to_file(
    url: str,
    dest: BinaryIO,
    *,
    max_size: int,
    timeout: float,
    allow_private: bool,
    max_redirects: int = 5,
    user_agent: str = "OpenVOD",
    resolver: Resolver = system_resolver,
) -> FetchResult:
    """GET ``url`` and stream its body into ``dest``; return what was written.

    Raises ``InvalidParameter`` (``InvalidParameter.Url``) for a URL that is not http(s),
    ``InvalidParameter`` (``InvalidParameter.UrlForbidden``) when a hop's host resolves only to
    addresses this server may not reach (see :func:`openvod.net.addresses.is_allowed`),
    ``PayloadTooLarge`` past ``max_size`` bytes, ``UpstreamError`` (``FailedOperation.PullTimeout``)
    when ``timeout`` seconds pass, :class:`UpstreamStatusError` for a non-2xx answer and
    ``UpstreamError`` (``FailedOperation.PullFailed``) for network and protocol failures.
    ``dest`` may hold a partial body after an error; the caller discards it. ``resolver`` is a seam
    for tests; the default is the system resolver.
    """
    if max_size < 0 or timeout <= 0 or max_redirects < 0:
        raise ValueError("max_size and max_redirects must be >= 0 and timeout > 0")
    deadline = time.monotonic() + timeout
    first = current = _checked_url(url, context="")
    backend = GuardedBackend(allow_private=allow_private, deadline=deadline, resolver=resolver)
    headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
    with httpx.Client(
        transport=GuardedTransport(backend),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers=headers,
    ) as client:
        for _hop in range(max_redirects + 1):
            with _upstream_errors(current, timeout):
                response = client.send(client.build_request("GET", current), stream=True)
                try:
                    if response.has_redirect_location:
                        location = response.headers["Location"]
                        current = _checked_url(
                            _join(current, location), context=f" (a redirect from {_shown(current)})"
                        )
                        continue
                    if not response.is_success:
                        raise _status_error(response, current)
                    return _save(response, current, dest, max_size=max_size, deadline=deadline)
                finally:
                    response.close()
    raise UpstreamError(
        f"GET {_shown(first)} redirected more than {max_redirects} times (last to {_shown(current)})",
        code=CODE_TOO_MANY_REDIRECTS,
    )


def _checked_url(text: str, *, context: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidParameter(f"URL {text!r}{context} is not a valid URL: {exc}", code=CODE_URL) from exc
    if url.scheme not in _SCHEMES:
        raise InvalidParameter(
            f"URL {text!r}{context} uses scheme {url.scheme!r}; only http and https can be fetched",
            code=CODE_URL,
        )
    if not url.host:
        raise InvalidParameter(f"URL {text!r}{context} has no host", code=CODE_URL)
    return url


def _join(base: httpx.URL, location: str) -> str:
    try:
        return str(base.join(location))
    except httpx.InvalidURL as exc:
        raise InvalidParameter(
            f"GET {_shown(base)} redirected to {location!r}, which is not a valid URL: {exc}", code=CODE_URL
        ) from exc


@contextmanager
def _upstream_errors(url: httpx.URL, timeout: float) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamError(
            f"GET {_shown(url)} did not finish within the {timeout:g} s allowed for the whole fetch ({exc})",
            code=CODE_TIMEOUT,
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"GET {_shown(url)} failed: {exc}", code=CODE_PULL_FAILED) from exc


def _save(
    response: httpx.Response, url: httpx.URL, dest: BinaryIO, *, max_size: int, deadline: float
) -> FetchResult:
    def too_large(detail: str) -> PayloadTooLarge:
        return PayloadTooLarge(f"GET {_shown(url)}: {detail}; at most {max_size} bytes may be pulled")

    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    declared = response.headers.get("Content-Length", "")
    # ASCII digits only ("²".isdigit() is true and int() refuses it); 20+ digits is over any limit.
    if encoding == "identity" and re.fullmatch(r"[0-9]{1,30}", declared, re.ASCII) and int(declared) > max_size:
        raise too_large(f"Content-Length is {int(declared)} bytes")
    size = 0
    for chunk in response.iter_bytes(_CHUNK):
        size += len(chunk)
        if size > max_size:
            raise too_large(f"the body is longer than {max_size} bytes")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the overall deadline of the fetch has passed")
        try:
            dest.write(chunk)
        except OSError as exc:
            raise StorageError(
                f"writing the body of {_shown(url)} to {_name_of(dest)} failed: {exc}"
            ) from exc
    return FetchResult(
        final_url=str(url),
        size=size,
        content_type=_media_type(response.headers.get("Content-Type")),
        filename=_filename(response.headers.get("Content-Disposition"), url),
    )


def _status_error(response: httpx.Response, url: httpx.URL) -> UpstreamStatusError:
    status = f"{response.status_code} {response.reason_phrase}".strip()
    return UpstreamStatusError(
        f"GET {_shown(url)} answered HTTP {status}", upstream_status=response.status_code
    )


def _shown(url: httpx.URL) -> str:
    """``url`` for messages: without a user name or password."""
    return str(url.copy_with(userinfo=b"")) if url.userinfo else str(url)


def _media_type(header: str | None) -> str | None:
    if header is None:
        return None
    media_type = header.split(";", 1)[0].strip().lower()
    return media_type or None


def _filename(disposition: str | None, url: httpx.URL) -> str | None:
    name: str | None = None
    if disposition:
        message = email.message.Message()
        message["Content-Disposition"] = disposition
        name = message.get_filename()
    if not name:
        name = url.path
    name = _CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", ".."):
        return None
    return name[:255]


def _name_of(dest: BinaryIO) -> str:
    name = getattr(dest, "name", None)
    return repr(name) if isinstance(name, str) else "the destination"
