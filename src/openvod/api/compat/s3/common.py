"""What every part of the S3 gateway shares: the error type, XML documents, reserved names."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from typing import Any

from fastapi.responses import Response

from openvod.domain.numbers import parse_uint
from openvod.errors import InvalidParameter, ProtocolError

__all__ = ["HIDDEN_ROLES", "MIN_PART_SIZE", "MP_DIR", "XMLNS", "S3Error", "el", "error_response", "not_implemented",
           "owner", "parse_xml", "part_number", "precondition_failed", "xml_response"]

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
MP_DIR = ".s3mp"
HIDDEN_ROLES = ("bucket", "s3-multipart", "s3-part")
MIN_PART_SIZE = 5 << 20  # S3's smallest part but the last (COS: 1 MiB, cos.py)


class S3Error(ProtocolError):
    """An S3 error: answered as an ``<Error>`` document with ``code`` (S3's error name, e.g.
    ``NoSuchKey``) and HTTP ``status``, plus ``headers`` (e.g. ``Content-Range`` of an
    ``InvalidRange``). Native :class:`~openvod.errors.OpenVODError` raised under the gateway are
    mapped to S3 names by status at its edge (``gateway.serve``)."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, code, message)
        self.headers = dict(headers or {})


def not_implemented(what: str) -> S3Error:
    """501 NotImplemented for a request naming ``what`` (a sub-resource, header or value) the
    gateway does not implement: refused, never served as another operation."""
    return S3Error(501, "NotImplemented", f"A header or query you provided implies functionality that is not "
                   f"implemented: {what}.")


def precondition_failed() -> S3Error:
    return S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")


def parse_xml(body: bytes) -> ET.Element:
    """A request's XML document (bounded by ``bodies.small_body``); 400 MalformedXML otherwise."""
    try:
        # Bounded body (1 MiB); expat >= 2.4.1 limits entity amplification, no external entities.
        return ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                      "against our published schema.") from exc


def owner(parent: ET.Element, app_id: str, tag: str = "Owner") -> ET.Element:
    """An ``<Owner>`` (or ``tag``) of the app: its id is the app id."""
    e = el(parent, tag)
    el(e, "ID", app_id)
    el(e, "DisplayName", app_id)
    return e


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
    headers = {**exc.headers, "x-amz-request-id": rid}
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
