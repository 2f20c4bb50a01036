"""One client factory per cloud: every vendor SDK client Courier makes is built here.

Part of the ground floor: these modules import settings, errors and the SDKs, nothing above.
"""

from __future__ import annotations

import logging

# Vendor SDK and HTTP client loggers print whole requests and answers (presigned URLs,
# signatures, a secret store's answer) at DEBUG; they are held at WARNING whatever the
# function's log level.
CHATTY_LOGGERS = ("tencentcloud_sdk_common", "urllib3", "botocore", "boto3", "s3transfer",
                  "qcloud_cos", "alibabacloud_tea_openapi", "darabonba",
                  "alibabacloud_oss_v2")


def hold_sdk_loggers() -> None:
    """Keep the vendor SDKs' request/answer dumps out of the logs: before the logs are set up
    too, as when settings are read from a secret store at cold start (the answer is the
    secret)."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
