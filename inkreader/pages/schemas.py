"""The official PAGE-XML 2019 and ALTO 4 schemas, vendored in ``xsd/``, for validating pages.

    problems = validate(to_alto(page), "alto")   # [] when the document is valid

Everything is read from ``xsd/``: ALTO's import of XLink from the Library of Congress's web
address is answered with the local copy by an lxml resolver, and the parser may not touch the
network, so validation works offline and never waits on a server.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from ..errors import InkreaderError

XSD_DIR = Path(__file__).with_name("xsd")
SCHEMAS = {"pagexml": "pagecontent-2019-07-15.xsd", "alto": "alto-4-4.xsd"}
# Imports the vendored schemas make, by the address they name -> the local copy.
LOCAL_COPIES = {"http://www.loc.gov/standards/xlink/xlink.xsd": "xlink.xsd"}


class _LocalCopies(etree.Resolver):
    def resolve(self, url, pubid, context):
        if url in LOCAL_COPIES:
            return self.resolve_filename(str(XSD_DIR / LOCAL_COPIES[url]), context)
        return None  # anything else fails: the parser has no network


@cache
def schema(fmt: str) -> etree.XMLSchema:
    """The compiled schema of ``fmt`` ("pagexml" or "alto"), built once."""
    if fmt not in SCHEMAS:
        raise InkreaderError(f"no schema for format {fmt!r} ({', '.join(SCHEMAS)})")
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalCopies())
    return etree.XMLSchema(etree.parse(str(XSD_DIR / SCHEMAS[fmt]), parser))


def validate(data: bytes, fmt: str) -> list[str]:
    """The schema errors of the XML document ``data`` in ``fmt``, as "line N: message"
    strings; [] when it is valid."""
    check = schema(fmt)
    try:
        doc = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    if check.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in check.error_log]
