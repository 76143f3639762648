"""What every part of the S3 gateway shares: the error type, XML documents, reserved names."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from typing import Any

from fastapi.responses import Response

from openvod.domain.numbers import parse_uint
from openvod.errors import InvalidParameter, ProtocolError

__all__ = ["HIDDEN_ROLES", "MP_DIR", "XMLNS", "S3Error", "el", "error_response", "part_number",
           "xml_response"]

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
MP_DIR = ".s3mp"
HIDDEN_ROLES = ("bucket", "s3-multipart", "s3-part")


class S3Error(ProtocolError):
    """An S3 error: answered as an ``<Error>`` document with ``code`` (S3's error name, e.g.
    ``NoSuchKey``) and HTTP ``status``. Native :class:`~openvod.errors.OpenVODError` raised under the
    gateway are mapped to S3 names by status at its edge (``gateway.serve``)."""


def part_number(raw: str) -> int:
    """A multipart part number, 1-10000 in ASCII digits (S3's ``InvalidArgument`` otherwise)."""
    try:
        n = parse_uint(raw, "partNumber", maximum=10000)
    except InvalidParameter as exc:
        raise S3Error(400, "InvalidArgument", "partNumber must be an integer 1-10000.") from exc
    if n < 1:
        raise S3Error(400, "InvalidArgument", "partNumber must be an integer 1-10000.")
    return n


def _request_id() -> str:
    return secrets.token_hex(8).upper()


def error_response(exc: S3Error, resource: str, method: str) -> Response:
    """The S3 ``<Error>`` reply to ``exc`` (headers only for HEAD)."""
    rid = _request_id()
    headers = {"x-amz-request-id": rid}
    if method == "HEAD":
        return Response(status_code=exc.status, headers=headers)
    root = ET.Element("Error")
    for tag, text in (("Code", exc.code), ("Message", exc.message), ("Resource", resource), ("RequestId", rid)):
        ET.SubElement(root, tag).text = text
    return Response(_xml_bytes(root), status_code=exc.status, media_type="application/xml", headers=headers)


def _xml_bytes(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(root, encoding="utf-8"))


def xml_response(root: ET.Element, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``root`` as an ``application/xml`` reply."""
    return Response(_xml_bytes(root), status_code=status, media_type="application/xml", headers=headers)


def el(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    """A new child ``tag`` of ``parent``, holding ``str(text)`` unless ``text`` is None."""
    e = ET.SubElement(parent, tag)
    if text is not None:
        e.text = str(text)
    return e
