"""`R2Resource`: dagster_aws's `S3Resource` with a client built for R2 (see `r2.py`).

Kept apart from `r2.py` because `import dagster_aws.s3` costs seconds; `r2.R2Resource`
imports this module on first access.
"""

from __future__ import annotations

from typing import Any

from dagster_aws.s3 import S3Resource
from pydantic import Field

from .r2 import make_r2_client


class R2Resource(S3Resource):
    """`S3Resource` for Cloudflare R2: region `auto`, `when_required` checksums, timeouts.

    `S3Resource` has no field for a botocore `Config`, so `get_client` is overridden. Note that
    botocore's `max_attempts` counts retries, not attempts: the default 5 makes up to 6 requests.
    A `None` `profile_name` is not passed on, and with explicit keys `AWS_PROFILE` is ignored.
    """

    region_name: str | None = Field(default="auto", description="R2 ignores it; the SDK needs one")
    connect_timeout: float = Field(default=10.0, description="seconds to open a connection")
    read_timeout: float = Field(default=60.0, description="seconds to wait for a response")

    def get_client(self) -> Any:
        return make_r2_client(
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            region_name=self.region_name,
            max_attempts=self.max_attempts,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            profile_name=self.profile_name,
            use_ssl=self.use_ssl,
            verify=self.verify,
            aws_session_token=self.aws_session_token,
            use_unsigned_session=self.use_unsigned_session,
        )
