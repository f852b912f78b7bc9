"""An S3-compatible server for the tests (moto's, in a thread of the test process, on a free
loopback port) that checks credentials: an IAM user with an access key allowed `s3:*`, made
before authentication is switched on, so that any other key is refused as S3 refuses it.

`running_s3()` starts it, makes one bucket, and on exit stops it, switches authentication
off again and forgets every bucket and key (moto keeps its state per process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.moto_api._internal.models import moto_api_backend
from moto.server import ThreadedMotoServer

from tests.support import free_port

REGION = "us-east-1"
_ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    def client(self, *, access_key: str | None = None, secret_key: str | None = None) -> Any:
        return _client(
            "s3", self.endpoint, access_key or self.access_key, secret_key or self.secret_key
        )

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Every object under `prefix`: key and size."""
        found: dict[str, int] = {}
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            found.update({o["Key"]: int(o["Size"]) for o in page.get("Contents") or ()})
        return found


def _client(service: str, endpoint: str, key: str, secret: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=botocore.config.Config(
            s3={"addressing_style": "path"},
            connect_timeout=2,
            read_timeout=10,
            retries={"total_max_attempts": 1},
        ),
    )


@contextmanager
def running_s3(bucket: str = "dbaas-backups") -> Iterator[S3Server]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        iam = _client("iam", endpoint, "bootstrap", "bootstrap")
        iam.create_user(UserName="backups")
        iam.put_user_policy(
            UserName="backups", PolicyName="s3", PolicyDocument=json.dumps(_ALLOW_S3)
        )
        key = iam.create_access_key(UserName="backups")["AccessKey"]
        _client("s3", endpoint, "bootstrap", "bootstrap").create_bucket(Bucket=bucket)
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        yield S3Server(endpoint, bucket, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        server.stop()
        moto_api_backend.reset()
