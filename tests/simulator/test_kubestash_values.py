"""The KubeStash model's pure rules: retention's choice, periods with KubeStash's units,
human-readable sizes, the simulator's clock, and where an s3 storage's objects go."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.kubedb.backup import retention, s3, timing

NOW = 1_800_000_000.0


def snap(name: str, phase: str, minutes_ago: float) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {"phase": phase, "snapshotTime": timing.stamp(NOW - minutes_ago * 60)},
    }


def doomed(snapshots: list[dict[str, Any]], **spec: Any) -> list[str]:
    return [s["metadata"]["name"] for s in retention.doomed(snapshots, {"spec": spec}, NOW)]


def test_retention_keeps_the_last_n_succeeded_and_the_last_failed_ones() -> None:
    snapshots = [
        snap("s5", "Succeeded", 1),
        snap("f4", "Failed", 2),
        snap("s3", "Succeeded", 3),
        snap("f2", "Failed", 4),
        snap("s1", "Succeeded", 5),
    ]
    assert doomed(snapshots, successfulSnapshots={"last": 2}) == ["f2", "s1"]
    assert doomed(snapshots, successfulSnapshots={"last": 2}, failedSnapshots={"last": 2}) == ["s1"]


def test_retention_by_period_removes_what_is_older_even_within_the_count() -> None:
    snapshots = [snap("new", "Succeeded", 30), snap("old", "Succeeded", 2 * 60 + 1)]
    assert doomed(snapshots, maxRetentionPeriod="2h", successfulSnapshots={"last": 5}) == ["old"]
    assert doomed(snapshots, maxRetentionPeriod="1d") == []


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("30m", 30), ("12h", 720), ("2mo", 2 * 30 * 1440), ("1y", 365 * 1440), ("30d12h30m", 43950)],
)
def test_periods_read_m_as_minutes_and_mo_as_months(text: str, minutes: int) -> None:
    assert timing.period_minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "3x", "d", "10 d", "5s"])
def test_a_period_that_does_not_parse_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid retention period"):
        timing.period_minutes(text)


def test_sizes_are_written_the_way_kubestash_writes_them() -> None:
    assert timing.human_size(512) == "512 B"
    assert timing.human_size(2254) == "2.201 KiB"
    assert timing.human_size(3 * 2**20 // 2) == "1.500 MiB"


def test_the_clock_runs_faster_by_the_time_scale_and_keeps_its_past_when_it_changes() -> None:
    scale, mono = [0.01], [100.0]
    clock = timing.SimClock(lambda: scale[0], wall=lambda: NOW, monotonic=lambda: mono[0])
    mono[0] += 0.6
    assert clock.now() == pytest.approx(NOW + 60)
    scale[0] = 1.0
    assert clock.now() == pytest.approx(NOW + 60)
    mono[0] += 1.0
    assert clock.now() == pytest.approx(NOW + 61)
    assert clock.real_seconds(60) == pytest.approx(60)


def secret(**data: str) -> dict[str, Any]:
    return {"metadata": {"name": "remote-backend"}, "stringData": data}


KEYS = {"AWS_ACCESS_KEY_ID": "AKIAKEY", "AWS_SECRET_ACCESS_KEY": "shh"}


def test_an_s3_location_takes_the_spec_first_then_the_secrets_endpoint() -> None:
    spec = {"bucket": "b", "prefix": "/eu/", "endpoint": "minio.local:9000"}
    from_spec = s3.location(spec, secret(**KEYS, AWS_ENDPOINT="http://ignored"))
    from_secret = s3.location({"bucket": "b"}, secret(**KEYS, AWS_ENDPOINT="http://m:9000"))
    aws = s3.location({"bucket": "b"}, secret(**KEYS))

    assert from_spec.endpoint == "https://minio.local:9000"  # no scheme: https
    assert from_spec.key("/default/db1/manual/snap/dump/") == "eu/default/db1/manual/snap/dump"
    assert (from_secret.endpoint, from_secret.region) == ("http://m:9000", "us-east-1")
    assert aws.endpoint is None and aws.key("x") == "x"
    assert "shh" not in repr(aws) and "AKIAKEY" not in repr(aws)


def test_an_s3_location_without_its_keys_or_bucket_says_which() -> None:
    with pytest.raises(s3.S3Error, match='Secret "remote-backend" has no AWS_SECRET_ACCESS_KEY'):
        s3.location({"bucket": "b"}, secret(AWS_ACCESS_KEY_ID="a"))
    with pytest.raises(s3.S3Error, match=r"spec\.storage\.s3\.bucket is not set"):
        s3.location({}, secret(**KEYS))
