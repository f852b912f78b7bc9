"""The OpenAPI document says what the app does (issue 12, item 9)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.platform import Platform

METHODS = {"get", "post", "put", "patch", "delete"}


async def _document(platform: Platform) -> dict[str, Any]:
    _, client, _ = platform
    body: dict[str, Any] = (await client.get("/openapi.json")).json()
    return body


async def test_no_route_documents_fastapis_default_422_body(platform: Platform) -> None:
    document = await _document(platform)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            answer = operation.get("responses", {}).get("422")
            if answer is not None:
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, ref)
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_the_health_503_answers_have_a_schema(platform: Platform) -> None:
    document = await _document(platform)

    for path in ("/health", "/health/ready"):
        answer = document["paths"][path]["get"]["responses"]["503"]
        assert answer["content"]["application/json"]["schema"], path


async def test_options_answers_405_allowing_every_method_of_the_path(platform: Platform) -> None:
    _, client, _ = platform
    document = await _document(platform)

    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        answer = await client.options(concrete)
        assert answer.status_code == 405, (path, answer.status_code)
        allowed = {m.strip().lower() for m in answer.headers["allow"].split(",")}
        assert METHODS & set(item) <= allowed, (path, allowed)
        assert answer.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("until", ["0.5", "2026-01-01T00:00:00", "1", "0999-01-01T00:00:00Z"])
async def test_the_audit_takes_only_iso_8601_times_with_a_zone(
    platform: Platform, until: str
) -> None:
    _, client, _ = platform

    answer = await client.get("/api/v1/audit", params={"until": until})

    assert answer.status_code == 422, answer.text
    assert {"query.until", "until"} & set(answer.json()["error"]["details"]["fields"])


async def test_rules_enforced_in_code_are_in_the_schema(platform: Platform) -> None:
    document = await _document(platform)
    schemas = document["components"]["schemas"]
    audit = {
        p["name"]: p["schema"] for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]
    }

    domain = schemas["CreateApiKey"]["properties"]["domain"]["anyOf"][0]
    assert domain["pattern"] and domain["maxLength"] == 63
    for name in ("since", "until"):
        schema = audit[name]["anyOf"][0]
        assert schema["pattern"].startswith("^[1-9]"), schema
