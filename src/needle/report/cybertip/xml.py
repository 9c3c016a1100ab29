"""Writing elements as XML in schema order; reading the service's answers; checking the XSD.

In: an ``Element`` (``model``). Out: UTF-8 XML text whose child order is the element class's
``CHILDREN`` declaration, never its field order. ``parse_response`` reads a ``reportResponse``
(or ``reportDoneResponse``) body into a ``Response``; ``validate`` checks a document against
the XSD shipped beside this module (``cybertip.xsd``) with xmlschema (the ``report`` extra).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from defusedxml import ElementTree as SafeET

from needle._optional import import_optional
from needle.errors import ReportError
from needle.report.cybertip.model import Element

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["SCHEMA_FILE", "Response", "parse_response", "to_xml", "validate"]

SCHEMA_FILE = "cybertip.xsd"


_CHECKED: set[type[Element]] = set()


def _check_declared(cls: type[Element]) -> None:
    """Every dataclass field of ``cls`` is named by exactly one declaration, so nothing is
    written where the schema does not put it (and nothing is silently left out)."""
    declared = [c.field for c in cls.CHILDREN] + [f for _, f in cls.ATTRIBUTES]
    if cls.TEXT is not None:
        declared.append(cls.TEXT)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if cls in _CHECKED:
        return
    if sorted(declared) != sorted(fields):
        raise ReportError(
            f"{cls.__name__} declares {sorted(declared)} but has fields {sorted(fields)}"
        )
    _CHECKED.add(cls)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, int | str):
        return str(value)
    raise ReportError(f"cannot write {type(value).__name__} as XML text")


def _build(element: Element, name: str | None = None) -> ET.Element:
    cls = type(element)
    _check_declared(cls)
    node = ET.Element(name or cls.ELEMENT)
    for attribute, field in cls.ATTRIBUTES:
        value = getattr(element, field)
        if value is not None:
            node.set(attribute, _text(value))
    if cls.TEXT is not None:
        node.text = _text(getattr(element, cls.TEXT))
    for child in cls.CHILDREN:
        value = getattr(element, child.field)
        if child.flag:
            if value:
                ET.SubElement(node, child.name)
            continue
        for one in value if isinstance(value, tuple) else (value,):
            if one is None:
                continue
            if isinstance(one, Element):
                node.append(_build(one, child.name))
            else:
                ET.SubElement(node, child.name).text = _text(one)
    return node


def to_xml(element: Element) -> str:
    """``element`` as an XML document (declaration included), indented for a reader."""
    root = _build(element)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


@dataclass(frozen=True)
class Response:
    """One answer of the service. ``response_code`` 0 is success; ``http_status`` is the
    HTTP status it came with; ``file_ids`` lists the files a ``/finish`` answer names."""

    http_status: int
    response_code: int | None
    description: str
    report_id: str | None = None
    file_id: str | None = None
    file_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and self.response_code == 0


def parse_response(http_status: int, body: bytes) -> Response:
    """The service's XML answer, or a ``Response`` saying the body was not one."""
    try:
        root = SafeET.fromstring(body)
    except (ET.ParseError, ValueError) as exc:
        shown = body[:200].decode("utf-8", "replace").strip()
        return Response(http_status, None, f"not an XML answer ({exc}): {shown}")

    def text(tag: str) -> str | None:
        found = root.find(tag)
        return found.text.strip() if found is not None and found.text else None

    code = text("responseCode")
    try:
        response_code = int(code) if code is not None else None
    except ValueError:
        response_code = None
    files = root.find("files")
    listed = () if files is None else tuple((f.text or "").strip() for f in files.iter("fileId"))
    return Response(
        http_status,
        response_code,
        text("responseDescription") or "",
        text("reportId"),
        text("fileId"),
        listed,
    )


@cache
def _schema() -> object:
    xmlschema: ModuleType = import_optional("xmlschema", "report")
    source = resources.files("needle.report.cybertip").joinpath(SCHEMA_FILE).read_text("utf-8")
    return xmlschema.XMLSchema(source)


def validate(document: str) -> None:
    """Check ``document`` against ``cybertip.xsd``; a ``ReportError`` says what is wrong."""
    import xmlschema

    schema = _schema()
    try:
        schema.validate(document)  # type: ignore[attr-defined]
    except xmlschema.XMLSchemaValidationError as exc:
        raise ReportError(f"the XML does not follow the schema: {exc.reason}") from None
