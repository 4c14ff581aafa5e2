"""Write an element the parser read back out in the SDK's layout (for the Signature block).

The builder used to keep the Signature block's bytes by cutting them out of the submitted text.
Now the block is what the parser found, written from the tree: CRLF line ends, `<x />` for
empty elements, the package's default namespace left implicit, other namespaces declared
where they are first used. For what the SDK writes, this reproduces its bytes exactly.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .codes import NAMESPACE


def sdk_fragment(element: etree._Element, default_namespace: str = NAMESPACE) -> bytes:
    parts: list[str] = []
    _write(element, parts, default_namespace, {})
    return "".join(parts).encode("utf-8")


def _write(
    element: etree._Element, parts: list[str], default: str | None, declared: dict[str, str]
) -> None:
    qname = etree.QName(element)
    declared = dict(declared)
    declarations: dict[str, str] = {}
    if element.prefix is None:
        name = qname.localname
        if qname.namespace != default:
            default = qname.namespace
            declarations["xmlns"] = default or ""
    else:
        name = f"{element.prefix}:{qname.localname}"
        if declared.get(element.prefix) != qname.namespace:
            declared[element.prefix] = qname.namespace or ""
            declarations[f"xmlns:{element.prefix}"] = qname.namespace or ""
    attributes = []
    for key, value in element.attrib.items():
        attribute = etree.QName(key)
        if attribute.namespace is None:
            attributes.append((attribute.localname, value))
            continue
        prefix = next(
            (p for p, ns in (element.nsmap or {}).items() if p and ns == attribute.namespace),
            "ns0",
        )
        if declared.get(prefix) != attribute.namespace:
            declared[prefix] = attribute.namespace
            declarations[f"xmlns:{prefix}"] = attribute.namespace
        attributes.append((f"{prefix}:{attribute.localname}", value))
    rendered = "".join(f" {k}={quoteattr(v)}" for k, v in [*declarations.items(), *attributes])
    children = [c for c in element if isinstance(c.tag, str)]
    if not children and not element.text:
        parts.append(f"<{name}{rendered} />")
        return
    parts.append(f"<{name}{rendered}>{_text(element.text)}")
    for child in children:
        _write(child, parts, default, declared)
        parts.append(_text(child.tail))
    parts.append(f"</{name}>")


def _text(value: str | None) -> str:
    # the parser turned CRLF into LF (XML end-of-line handling); the SDK writes CRLF
    return escape(value or "", {"\r": "&#13;"}).replace("\n", "\r\n")
