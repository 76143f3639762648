"""An httpx transport that connects only to allowed addresses and enforces one overall deadline.

The address check sits in the network backend, at the moment of connecting: the host name is
resolved once, every address is classified, and the socket goes to an address that passed. A
name that resolves to a public address for a check and to ``127.0.0.1`` for the connection (DNS
rebinding) therefore gains nothing, and every redirect hop is checked the same way. TLS still
uses the host name for SNI and certificate checks, because httpcore passes it to ``start_tls``.

The deadline clamps the timeout of every resolve, connect, TLS handshake, read and write, so a
server that trickles one byte a second cannot stretch a fetch past it.
"""

from __future__ import annotations

import socket
import ssl
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from ipaddress import ip_address

import httpcore
import httpx

from openvod.errors import InvalidParameter
from openvod.net.addresses import IPAddress, classify_address, is_allowed

__all__ = ["CODE_FORBIDDEN", "GuardedBackend", "GuardedTransport", "Resolver", "system_resolver"]

CODE_FORBIDDEN = "InvalidParameter.UrlForbidden"

Resolver = Callable[[str, int], Sequence[str]]
"""Maps (host, port) to candidate IP address strings, best first."""

_dns_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="openvod-dns")


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver (``getaddrinfo``), keeping its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, self._deadline, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """A network backend that refuses disallowed addresses and stops at ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value. A host whose every address is refused raises
    ``InvalidParameter`` (``InvalidParameter.UrlForbidden``) before any socket is opened.
    """

    def __init__(self, *, allow_private: bool, deadline: float, resolver: Resolver = system_resolver) -> None:
        super().__init__()
        self._allow_private = allow_private
        self._deadline = deadline
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port, _clamp(timeout, self._deadline, httpcore.ConnectTimeout))
        allowed = [ip for ip in addresses if is_allowed(ip, allow_private=self._allow_private)]
        if not allowed:
            found = ", ".join(f"{ip} ({classify_address(ip).value})" for ip in addresses)
            raise InvalidParameter(
                f"refusing to fetch from {host}: it resolves to {found}, which this server may not "
                f"connect to{'' if self._allow_private else ' (only public addresses are allowed)'}",
                code=CODE_FORBIDDEN,
            )
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for ip in allowed:
            try:
                stream = super().connect_tcp(
                    str(ip),
                    port,
                    timeout=_clamp(timeout, self._deadline, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        tried = ", ".join(str(ip) for ip in allowed)
        error = type(failure) if failure is not None else httpcore.ConnectError
        raise error(f"cannot connect to {host} port {port} (tried {tried}): {failure}") from failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed for guarded fetches")

    def _resolve(self, host: str, port: int, timeout: float) -> list[IPAddress]:
        # getaddrinfo has no timeout of its own; waiting on a worker thread bounds it. A resolver
        # that hangs keeps its worker until the system resolver gives up.
        future = _dns_pool.submit(self._resolver, host, port)
        try:
            found = future.result(timeout=timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout:.1f} s") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        try:
            addresses = [ip_address(text) for text in found]
        except ValueError as exc:
            raise httpcore.ConnectError(f"resolver returned a non-address for {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        return addresses


def _clamp(timeout: float | None, deadline: float, error: type[httpcore.TimeoutException]) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("the overall deadline of the fetch has passed")
    return remaining if timeout is None else min(timeout, remaining)


# Most specific first: the first isinstance match wins.
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """An HTTP/1.1 httpx transport over a :class:`GuardedBackend`; never uses a proxy.

    ``verify`` is as for ``httpx.HTTPTransport``: ``True`` for the certifi roots, or an
    ``ssl.SSLContext`` (a private CA).
    """

    def __init__(self, backend: GuardedBackend, *, verify: ssl.SSLContext | bool = True) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=4,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("GuardedTransport needs a synchronous request body")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self._pool.handle_request(core_request)
        if not isinstance(response.stream, Iterable):
            raise TypeError("httpcore returned an asynchronous response body")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
