from __future__ import annotations

import datetime
import io
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from openvod.errors import InvalidParameter, PayloadTooLarge, UpstreamError
from openvod.net import AddressKind, UpstreamStatusError, classify_address, fetch_to_file, is_allowed
from openvod.net.transport import GuardedBackend, GuardedTransport

BODY = os.urandom(300_000)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: a response without Content-Length is delimited by closing the connection.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        try:
            route = self.path.split("?", 1)[0]
            handler = _ROUTES.get(route)
            if handler is None:
                self.send_error(404, "no such test route")
                return
            handler(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (size limit, timeout)


def _file(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "video/mp4; charset=binary")
    h.send_header("Content-Length", str(len(BODY)))
    h.send_header("Content-Disposition", "attachment; filename*=UTF-8''%E8%A7%86%E9%A2%91.mp4")
    h.end_headers()
    h.wfile.write(BODY)


def _no_length(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.end_headers()
    for i in range(0, len(BODY), 10_000):
        h.wfile.write(BODY[i : i + 10_000])


def _trickle(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "1000")
    h.end_headers()
    for _ in range(1000):
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(0.05)


def _redirect(location: str) -> Callable[[_Handler], None]:
    def handler(h: _Handler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.end_headers()

    return handler


_ROUTES: dict[str, Callable[[_Handler], None]] = {
    "/file": _file,
    "/clips/name%20here.bin": _no_length,
    "/trickle": _trickle,
    "/to-file": _redirect("/file"),
    "/to-metadata": _redirect("http://169.254.169.254/latest/meta-data/"),
    "/to-mapped-metadata": _redirect("http://[::ffff:169.254.169.254]/"),
    "/to-ftp": _redirect("ftp://example.com/x"),
    "/loop": _redirect("/loop"),
}


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every address a socket is created towards, recorded before connecting."""
    seen: list[tuple[Any, ...]] = []
    real = socket.create_connection

    def spy(address: tuple[Any, ...], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return seen


def _fetch(url: str, **kw: Any) -> tuple[Any, bytes]:
    args: dict[str, Any] = {"max_size": 10_000_000, "timeout": 10.0, "allow_private": True}
    args.update(kw)
    dest = io.BytesIO()
    result = fetch_to_file(url, dest, **args)
    return result, dest.getvalue()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", AddressKind.GLOBAL),
        ("2001:4860::8888", AddressKind.GLOBAL),
        ("2606:4700:4700::1111", AddressKind.GLOBAL),
        ("64:ff9b::808:808", AddressKind.GLOBAL),  # NAT64 of 8.8.8.8
        ("127.0.0.1", AddressKind.LOOPBACK),
        ("127.255.0.9", AddressKind.LOOPBACK),
        ("::1", AddressKind.LOOPBACK),
        ("::ffff:127.0.0.1", AddressKind.LOOPBACK),
        ("10.0.0.1", AddressKind.PRIVATE),
        ("172.16.5.4", AddressKind.PRIVATE),
        ("192.168.1.1", AddressKind.PRIVATE),
        ("fd12:3456::1", AddressKind.PRIVATE),
        ("fc00::1", AddressKind.PRIVATE),
        ("::ffff:10.0.0.1", AddressKind.PRIVATE),
        ("2002:0a00:0001::1", AddressKind.PRIVATE),  # 6to4 of 10.0.0.1
        ("64:ff9b::a00:1", AddressKind.PRIVATE),  # NAT64 of 10.0.0.1
        ("100.64.0.1", AddressKind.SHARED),
        ("100.127.255.254", AddressKind.SHARED),
        ("169.254.169.254", AddressKind.LINK_LOCAL),
        ("169.254.0.23", AddressKind.LINK_LOCAL),
        ("fe80::1", AddressKind.LINK_LOCAL),
        ("fe80::1%eth0", AddressKind.LINK_LOCAL),
        ("::ffff:169.254.169.254", AddressKind.LINK_LOCAL),
        ("100.100.100.200", AddressKind.METADATA),
        ("fd00:ec2::254", AddressKind.METADATA),
        ("0.0.0.0", AddressKind.UNSPECIFIED),
        ("::", AddressKind.UNSPECIFIED),
        ("224.0.0.1", AddressKind.MULTICAST),
        ("ff02::1", AddressKind.MULTICAST),
        ("240.0.0.1", AddressKind.RESERVED),
        ("255.255.255.255", AddressKind.RESERVED),
        ("192.0.2.1", AddressKind.RESERVED),
        ("2001:db8::1", AddressKind.RESERVED),
        ("2001::1", AddressKind.RESERVED),  # Teredo
        ("::1.2.3.4", AddressKind.RESERVED),  # deprecated IPv4-compatible
    ],
)
def test_classify_address(address: str, kind: AddressKind) -> None:
    assert classify_address(address) is kind
    assert is_allowed(address, allow_private=False) is (kind is AddressKind.GLOBAL)
    always_refused = kind in (AddressKind.LINK_LOCAL, AddressKind.METADATA)
    assert is_allowed(address, allow_private=True) is (not always_refused)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_local_server_refused_by_default(port: int, host: str, connects: list[tuple[Any, ...]]) -> None:
    with pytest.raises(InvalidParameter) as info:
        _fetch(f"http://{host}:{port}/file", allow_private=False)
    assert info.value.code == "InvalidParameter.UrlForbidden"
    assert host in info.value.message and "127.0.0.1 (loopback)" in info.value.message
    assert connects == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_local_server_allowed_with_allow_private(port: int, host: str) -> None:
    result, data = _fetch(f"http://{host}:{port}/file", allow_private=True)
    assert data == BODY
    assert result.size == len(BODY)
    assert result.final_url == f"http://{host}:{port}/file"
    assert result.content_type == "video/mp4"
    assert result.filename == "视频.mp4"


def test_resolved_address_is_what_gets_checked(port: int, connects: list[tuple[Any, ...]]) -> None:
    def rebinding(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    with pytest.raises(InvalidParameter) as info:
        _fetch(f"http://media.example.com:{port}/file", allow_private=False, resolver=rebinding)
    assert info.value.code == "InvalidParameter.UrlForbidden"
    assert "media.example.com" in info.value.message and "127.0.0.1" in info.value.message
    assert connects == []


def test_refused_candidates_are_skipped(port: int, connects: list[tuple[Any, ...]]) -> None:
    def mixed(host: str, port: int) -> list[str]:
        return ["169.254.169.254", "::ffff:169.254.169.254", "127.0.0.1"]

    _, data = _fetch(f"http://media.example.com:{port}/file", resolver=mixed)
    assert data == BODY
    assert [address[0] for address in connects] == ["127.0.0.1"]


def test_relative_redirect_is_followed(port: int) -> None:
    result, data = _fetch(f"http://127.0.0.1:{port}/to-file")
    assert data == BODY
    assert result.final_url == f"http://127.0.0.1:{port}/file"


@pytest.mark.parametrize("route", ["/to-metadata", "/to-mapped-metadata"])
def test_redirect_to_link_local_refused_even_with_allow_private(
    port: int, route: str, connects: list[tuple[Any, ...]]
) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidParameter) as info:
        _fetch(f"http://127.0.0.1:{port}{route}", allow_private=True)
    assert info.value.code == "InvalidParameter.UrlForbidden"
    assert "169.254.169.254" in info.value.message and "link-local" in info.value.message
    assert [address[0] for address in connects] == ["127.0.0.1"]  # only the first hop
    assert time.monotonic() - started < 2


def test_redirect_to_other_scheme_refused(port: int) -> None:
    with pytest.raises(InvalidParameter) as info:
        _fetch(f"http://127.0.0.1:{port}/to-ftp")
    assert info.value.code == "InvalidParameter.Url"
    assert "redirect" in info.value.message


def test_redirect_loop_stops(port: int) -> None:
    with pytest.raises(UpstreamError) as info:
        _fetch(f"http://127.0.0.1:{port}/loop", max_redirects=3)
    assert info.value.code == "FailedOperation.PullTooManyRedirects"


def test_size_limit_with_content_length_refuses_before_reading(port: int) -> None:
    dest = io.BytesIO()
    with pytest.raises(PayloadTooLarge) as info:
        fetch_to_file(
            f"http://127.0.0.1:{port}/file", dest, max_size=len(BODY) - 1, timeout=10, allow_private=True
        )
    assert "Content-Length" in info.value.message
    assert dest.getvalue() == b""


def test_size_limit_without_content_length(port: int) -> None:
    dest = io.BytesIO()
    with pytest.raises(PayloadTooLarge):
        fetch_to_file(
            f"http://127.0.0.1:{port}/clips/name%20here.bin",
            dest,
            max_size=100_000,
            timeout=10,
            allow_private=True,
        )
    assert len(dest.getvalue()) <= 100_000


def test_body_without_content_length_within_limit(port: int) -> None:
    result, data = _fetch(f"http://127.0.0.1:{port}/clips/name%20here.bin", max_size=len(BODY))
    assert data == BODY
    assert result.filename == "name here.bin"
    assert result.content_type == "application/octet-stream"


def test_overall_timeout_against_trickling_server(port: int) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamError) as info:
        _fetch(f"http://127.0.0.1:{port}/trickle", timeout=1.0)
    elapsed = time.monotonic() - started
    assert info.value.code == "FailedOperation.PullTimeout"
    assert 0.9 <= elapsed < 3


def test_not_found_is_upstream_error(port: int) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        _fetch(f"http://127.0.0.1:{port}/missing")
    assert info.value.upstream_status == 404
    assert info.value.code == "FailedOperation.PullFailed"
    assert "404" in info.value.message


def test_connection_refused_is_upstream_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with pytest.raises(UpstreamError) as info:
        _fetch(f"http://127.0.0.1:{free_port}/")
    assert info.value.code == "FailedOperation.PullFailed"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.mp4", "file:///etc/passwd", "gopher://x/", "not a url", "http:///nohost"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        _fetch(url)
    assert info.value.code == "InvalidParameter.Url"


def _self_signed(tmp_path: Path, hostname: str) -> tuple[str, str, bytes]:

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file), cert_pem


def test_tls_uses_host_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    cert_file, key_file, cert_pem = _self_signed(tmp_path, "media.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        tls_port = server.server_address[1]
        client_ctx = ssl.create_default_context(cadata=cert_pem.decode())

        def resolve(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        def get(host: str) -> httpx.Response:
            backend = GuardedBackend(allow_private=True, deadline=time.monotonic() + 10, resolver=resolve)
            with httpx.Client(transport=GuardedTransport(backend, verify=client_ctx)) as client:
                return client.get(f"https://{host}:{tls_port}/file")

        response = get("media.test")
        assert response.status_code == 200 and response.content == BODY
        with pytest.raises(httpx.ConnectError, match="certificate|hostname"):
            get("other.test")  # same address, but the certificate does not name this host
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_messages_do_not_show_url_passwords(port: int) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        _fetch(f"http://user:s3cret@127.0.0.1:{port}/missing")
    assert "s3cret" not in str(info.value)
    assert f"http://127.0.0.1:{port}/missing" in info.value.message
