"""The OSS gateway's XML answers: S3's (moto's) cut to the V2 SDK's result models."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sandbox.oss_answers import elements, oss_answer

# moto's ListParts answer as the gateway receives it (namespace stripped)
MOTO_LIST_PARTS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<ListPartsResult><Bucket>bkt</Bucket>'
    b"<Key>k</Key><UploadId>U1</UploadId><PartNumberMarker>0</PartNumberMarker>"
    b"<NextPartNumberMarker>1</NextPartNumberMarker><MaxParts>1000</MaxParts>"
    b"<IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
    b"<LastModified>2026-12-06T08:50:55.000Z</LastModified><ETag>\"91d6\"</ETag>"
    b"<Size>204800</Size><ChecksumCRC32>x</ChecksumCRC32></Part><Initiator><ID>7</ID>"
    b"<DisplayName>webfile</DisplayName></Initiator><Owner><DisplayName>webfile</DisplayName>"
    b"<ID>7</ID></Owner><StorageClass>STANDARD</StorageClass></ListPartsResult>")


def test_list_parts_keeps_what_oss_answers_and_adds_each_parts_crc64() -> None:
    root = ET.fromstring(oss_answer("ListParts", MOTO_LIST_PARTS, {1: 42}.get))
    assert [c.tag for c in root] == ["Bucket", "Key", "UploadId", "PartNumberMarker",
                                     "NextPartNumberMarker", "MaxParts", "IsTruncated", "Part",
                                     "StorageClass"]
    assert root.findtext("StorageClass") == "Standard"
    part = root.find("Part")
    assert part is not None
    assert [c.tag for c in part] == ["PartNumber", "LastModified", "ETag", "Size",
                                     "HashCrc64ecma"]
    assert part.findtext("HashCrc64ecma") == "42"


def test_the_model_names_come_from_the_sdk() -> None:
    assert elements("ListPartsResult")["Part"] == "Part"
    assert set(elements("Part")) == {"PartNumber", "ETag", "LastModified", "Size",
                                     "HashCrc64ecma"}
    assert elements("GetObjectTaggingResult") == {"TagSet": "TagSet"}
    assert set(elements("CopyObjectResult")) == {"LastModified", "ETag"}


def test_bodies_of_other_actions_pass_as_they_are() -> None:
    assert oss_answer("GetObject", b"<a><b/></a>") == b"<a><b/></a>"
    assert oss_answer("CopyObject", b"") == b""
