"""What OSS answers in an XML body, for the gateway (:mod:`sandbox.oss_gateway`): moto's S3
answer cut to the elements the V2 SDK's result model of that action knows, and spelt as OSS
spells them.

The models (``alibabacloud_oss_v2/models/object_basic.py``) are read, not copied: each
result class's ``_attribute_map`` names its XML elements (``"tag": "xml"``, ``rename``), and
``_dependency_map`` the nested ones (``Part``, ``TagSet``, ``Tag``). So S3's extras
(``Initiator``, ``Owner``, checksum elements …) never reach a client, and an element OSS has
and S3 does not is added where the sandbox knows it: a listed part's ``HashCrc64ecma``
(ListParts). S3's storage class ``STANDARD`` is OSS's ``Standard``.

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

RESULTS = {
    "InitiateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "ListParts": "ListPartsResult",
    "CopyObject": "CopyObjectResult",
    "UploadPartCopy": "UploadPartCopyResult",
    "GetObjectTagging": "GetObjectTaggingResult",
}
STORAGE_CLASSES = {"STANDARD": "Standard"}


@functools.cache
def elements(model_name: str) -> dict[str, str | None]:
    """The XML elements of an SDK model: name → the nested model's name (None: a value)."""
    import alibabacloud_oss_v2.models as models

    cls: Any = getattr(models, model_name)
    depends = getattr(cls, "_dependency_map", {})
    out: dict[str, str | None] = {}
    for spec in cls._attribute_map.values():
        if spec.get("tag") != "xml":
            continue
        kind = str(spec.get("type", "")).strip("[]")
        nested = type(depends[kind]["new"]()).__name__ if kind in depends else None
        out[spec["rename"]] = nested
    return out


def _cut(elem: ET.Element, model_name: str) -> None:
    known = elements(model_name)
    for child in list(elem):
        if child.tag not in known:
            elem.remove(child)
        elif known[child.tag] is not None:
            _cut(child, str(known[child.tag]))
        elif child.tag == "StorageClass" and child.text in STORAGE_CLASSES:
            child.text = STORAGE_CLASSES[child.text]


def oss_answer(action: str, payload: bytes,
               part_crc: Callable[[int], int | None] = lambda n: None) -> bytes:
    """``payload`` (S3's XML, namespace already stripped) as OSS answers ``action``;
    ``part_crc``: the CRC-64 the gateway keeps of a part (ListParts)."""
    model = RESULTS.get(action)
    if model is None or not payload.strip():
        return payload
    root = ET.fromstring(payload)
    _cut(root, model)
    if action == "ListParts":
        for part in root.iter("Part"):
            number = part.findtext("PartNumber")
            crc = part_crc(int(number)) if number and number.isdigit() else None
            if crc is not None:
                ET.SubElement(part, "HashCrc64ecma").text = str(crc)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
