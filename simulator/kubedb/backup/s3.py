"""An `s3` BackupStorage through a real S3 client (boto3): the storage's check (KubeStash's
backend initialisation) and a snapshot's files uploaded, downloaded and deleted.

Where things go: `spec.storage.s3` gives `bucket`, `prefix`, `region`, `endpoint` and
`insecureTLS`; the Secret `secretName` gives `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
and, when the spec has no endpoint, `AWS_ENDPOINT`. A custom endpoint is addressed
path-style (`<endpoint>/<bucket>/<key>`, what S3-compatible servers expect); AWS itself
virtual-host style. A snapshot's file `f` of `<directory>/<snapshot>/dump` is the object
`<prefix>/<directory>/<snapshot>/dump/f`.

Every call runs in a thread with connect and read timeouts and a bounded number of
attempts, under an overall deadline: an endpoint that is down, or answers nothing, is an
`S3Error` with the reason, never a hang, and never blocks the event loop. This module
reads no cluster objects and knows nothing of sessions: `backends` hands it a `Location`.

    S3Error               reason: one line naming the bucket and what S3 answered
"""

from __future__ import annotations

import asyncio
import base64
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
from boto3.s3.transfer import TransferConfig

MARKER = "metadata.yaml"
"""The object a storage's check writes under its prefix (proof that it can write there)."""
PROBE_TIMEOUT = 15.0
DEFAULT_REGION = "us-east-1"
_PROBE_CONFIG = {"connect_timeout": 3, "read_timeout": 5, "retries": {"total_max_attempts": 1}}
_TRANSFER_CONFIG = {"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 3}}
_TRANSFER = TransferConfig(max_concurrency=4)
PROBE_ACTION = "cannot initialize the s3 backend"
_UNREACHABLE = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)
_AUTH_CODES = ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch")


class S3Error(Exception):
    """An S3 call failed; `reason` is one line for a status message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Location:
    """A bucket and prefix, and the client settings and keys that reach it."""

    bucket: str
    prefix: str
    endpoint: str | None
    region: str
    insecure_tls: bool
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def key(self, path: str) -> str:
        return "/".join(p for p in (self.prefix.strip("/"), path.strip("/")) if p)


def location(section: dict[str, Any], secret: dict[str, Any]) -> Location:
    """The Location of a BackupStorage's `spec.storage.s3` and its Secret; S3Error when
    the Secret lacks a key or the spec a bucket."""
    data = _secret_data(secret)
    missing = [k for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not data.get(k)]
    if missing:
        name = (secret.get("metadata") or {}).get("name")
        raise S3Error(f'Secret "{name}" has no {" or ".join(missing)}')
    bucket = str(section.get("bucket") or "")
    if not bucket:
        raise S3Error("spec.storage.s3.bucket is not set")
    endpoint = str(section.get("endpoint") or data.get("AWS_ENDPOINT") or "") or None
    if endpoint and "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    return Location(
        bucket=bucket,
        prefix=str(section.get("prefix") or ""),
        endpoint=endpoint,
        region=str(section.get("region") or DEFAULT_REGION),
        insecure_tls=bool(section.get("insecureTLS")),
        access_key=data["AWS_ACCESS_KEY_ID"],
        secret_key=data["AWS_SECRET_ACCESS_KEY"],
    )


def _secret_data(secret: dict[str, Any]) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    return data


@functools.lru_cache(maxsize=32)
def _client(loc: Location, kind: str) -> Any:
    """A client per location and purpose (botocore clients are thread-safe once made; a
    session of its own, because making clients from the shared default one is not)."""
    settings = dict(_PROBE_CONFIG if kind == "probe" else _TRANSFER_CONFIG)
    if loc.endpoint:
        settings["s3"] = {"addressing_style": "path"}
    return boto3.session.Session().client(
        "s3",
        endpoint_url=loc.endpoint,
        region_name=loc.region,
        aws_access_key_id=loc.access_key,
        aws_secret_access_key=loc.secret_key,
        verify=not loc.insecure_tls,
        config=botocore.config.Config(**settings),
    )


def _why(loc: Location, action: str, exc: Exception) -> S3Error:
    """One line for a failed call: what was done, where, and what S3 answered."""
    where = f"bucket {loc.bucket}" + (f" at {loc.endpoint}" if loc.endpoint else "")
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error") or {}
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        # A bare 404 names the bucket only from HeadBucket (the probe); an object's HEAD
        # answers 404 too.
        if code == "NoSuchBucket" or (code == "404" and action == PROBE_ACTION):
            return S3Error(f"{action}: {where} does not exist")
        if code in _AUTH_CODES:
            detail = message if message and message != "Forbidden" else "access denied"
            return S3Error(
                f"{action}: {where} refused the credentials ({code}: {detail}); check "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        return S3Error(f"{action}: {where} answered {code}: {message}")
    if isinstance(exc, _UNREACHABLE):
        return S3Error(f"{action}: {where} not reachable: {exc}")
    return S3Error(f"{action}: {where}: {exc}")


async def _call(loc: Location, action: str, timeout: float, work: Any, *args: Any) -> Any:
    try:
        return await asyncio.wait_for(asyncio.to_thread(work, *args), timeout)
    except TimeoutError:
        raise S3Error(f"{action}: bucket {loc.bucket} did not answer within {timeout:g}s") from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _why(loc, action, exc) from exc


async def probe(loc: Location, marker: str, *, timeout: float = PROBE_TIMEOUT) -> None:
    """KubeStash's backend initialisation: the bucket exists and takes the credentials
    (HeadBucket), and the prefix can be written (the marker object)."""

    def check() -> None:
        client = _client(loc, "probe")
        client.head_bucket(Bucket=loc.bucket)
        client.put_object(Bucket=loc.bucket, Key=loc.key(MARKER), Body=marker.encode())

    await _call(loc, PROBE_ACTION, timeout, check)


async def upload(loc: Location, folder: Path, path: str, *, timeout: float) -> int:
    """Every file of `folder` to `<prefix>/<path>/`; the bytes uploaded."""

    def send() -> int:
        client, sent = _client(loc, "transfer"), 0
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = file.relative_to(folder).as_posix()
            client.upload_file(
                str(file), loc.bucket, loc.key(f"{path}/{relative}"), Config=_TRANSFER
            )
            sent += file.stat().st_size
        return sent

    sent: int = await _call(loc, "upload failed", timeout, send)
    return sent


async def download(loc: Location, path: str, folder: Path, *, timeout: float) -> int:
    """Every object under `<prefix>/<path>/` into `folder`; how many."""

    def fetch() -> int:
        client, count = _client(loc, "transfer"), 0
        base = loc.key(path) + "/"
        for key in _keys(client, loc.bucket, base):
            target = folder / key[len(base) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(loc.bucket, key, str(target), Config=_TRANSFER)
            count += 1
        return count

    count: int = await _call(loc, "download failed", timeout, fetch)
    return count


async def delete(loc: Location, path: str, *, timeout: float) -> int:
    """Every object under `<prefix>/<path>/`; how many were deleted."""

    def wipe() -> int:
        client = _client(loc, "transfer")
        keys = list(_keys(client, loc.bucket, loc.key(path) + "/"))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            client.delete_objects(Bucket=loc.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    count: int = await _call(loc, "delete failed", timeout, wipe)
    return count


def _keys(client: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(str(item["Key"]) for item in page.get("Contents") or ())
    return keys


@dataclass
class Probes:
    """The last check of each s3 storage, so that the controller, which looks every few
    seconds, asks S3 again only when the storage or its Secret changed, or the result is
    old: a success is trusted for `ok_for` seconds, a failure for `failed_for`."""

    ok_for: float = 30.0
    failed_for: float = 5.0
    timeout: float = PROBE_TIMEOUT
    _last: dict[tuple[str, ...], tuple[str, float]] = field(default_factory=dict)

    async def check(self, storage: dict[str, Any], secret: dict[str, Any]) -> str:
        """The reason the storage cannot be used, or "" when it can."""
        meta, secret_meta = storage["metadata"], secret["metadata"]
        key = (
            str(meta.get("uid")),
            str(meta.get("generation")),
            str(secret_meta.get("uid")),
            str(secret_meta.get("resourceVersion")),
        )
        now = asyncio.get_running_loop().time()
        known = self._last.get(key)
        if known is not None and now - known[1] < (self.failed_for if known[0] else self.ok_for):
            return known[0]
        section = ((storage.get("spec") or {}).get("storage") or {}).get("s3") or {}
        try:
            marker = f"backupStorage: {meta.get('namespace')}/{meta.get('name')}\n"
            await probe(location(section, secret), marker, timeout=self.timeout)
            error = ""
        except S3Error as exc:
            error = exc.reason
        self._last = {k: v for k, v in self._last.items() if k[0] != key[0]}
        self._last[key] = (error, asyncio.get_running_loop().time())
        return error
