"""How big a package may be to go inline: the request carrying it, not the zip, is measured."""

from __future__ import annotations

import base64
import json

from deploy.scf_code import REQUEST_LIMIT, inline_max, inline_request_bytes


def test_the_largest_inline_package_fits_one_request_and_one_more_byte_does_not() -> None:
    largest = inline_max()
    assert inline_request_bytes(largest) <= REQUEST_LIMIT < inline_request_bytes(largest + 3)
    assert 7_400_000 < largest < 7_500_000  # about three quarters of the 10 MB request


def test_the_estimate_bounds_a_real_create_function_body() -> None:
    package = bytes(range(256)) * 4000
    body = {"FunctionName": "export-courier-prod-complete", "Handler": "complete_export.handler",
            "Environment": {"Variables": [{"Key": f"K{i}", "Value": "v" * 60}
                                          for i in range(60)]},  # ~4 KB
            "Code": {"ZipFile": base64.b64encode(package).decode()}}
    assert len(json.dumps(body).encode()) <= inline_request_bytes(len(package))
