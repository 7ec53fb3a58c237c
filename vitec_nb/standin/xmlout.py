"""JSON-ready answers as DataContract XML, the way ASP.NET Web API writes them for XML.

Element names are the .NET property names (the JSON key with its first letter upper-cased,
plus Vitec's own spellings such as `GDPRApprovalDate` and `VAT`), members in alphabetical
order, lists of objects as one element per item named after the item's type, lists of
strings in the serialization-arrays namespace, null as `i:nil="true"`.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from vitec_nb.standin.render import XML_INSTANCE

BASE_NAMESPACE = "http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models"
ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
_RENAMES = {"gdprApprovalDate": "GDPRApprovalDate", "vat": "VAT"}
# item type of each list of objects (or enums), by its JSON key
_ITEMS = {
    "categories": "Category",
    "companyCategories": "Category",
    "personCategories": "Category",
    "directPhonenumbers": "DirectPhonenumber",
    "customerIdsWithSortOrder": "CustomerIdWithSortOrder",
    "subOffices": "SubOffice",
    "reviews": "Review",
    "cdnReferences": "CdnReference",
    "groups": "Group",
    "offices": "OfficeReference",
    "fields": "CustomField",
    "validFor": "ObjectType",
    "users": "UserReference",
    "matches": "CrmContactSearchMatch",
}


def _name(key: str) -> str:
    return _RENAMES.get(key) or key[:1].upper() + key[1:]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _element(key: str, value: Any) -> str:
    tag = _name(key)
    if value is None:
        return f'<{tag} i:nil="true"/>'
    if isinstance(value, dict):
        return f"<{tag}>{_members(value)}</{tag}>"
    if isinstance(value, list):
        if not value:
            return f"<{tag}/>"
        item = _ITEMS.get(key)
        if item is None and all(isinstance(v, str) for v in value):
            inner = "".join(f"<a:string>{_scalar(v)}</a:string>" for v in value)
            return f'<{tag} xmlns:a="{ARRAYS}">{inner}</{tag}>'
        item = item or tag.removesuffix("s")
        return f"<{tag}>{''.join(_element(item, v) for v in value)}</{tag}>"
    return f"<{tag}>{_scalar(value)}</{tag}>"


def _members(record: dict[str, Any]) -> str:
    return "".join(_element(k, record[k]) for k in sorted(record, key=_name))


def to_xml(value: Any, type_name: str, area: str) -> bytes:
    """The answer `value` (a list of records or one record) as a DataContract document."""
    ns = f'xmlns:i="{XML_INSTANCE}" xmlns="{BASE_NAMESPACE}.{area}"'
    if isinstance(value, list):
        items = "".join(_element(type_name, v) for v in value)
        return f"<ArrayOf{type_name} {ns}>{items}</ArrayOf{type_name}>".encode()
    return f"<{type_name} {ns}>{_members(value)}</{type_name}>".encode()
