"""Builders and paths for the simulator tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


def mongodbs(namespace: str | None = "default") -> str:
    if namespace is None:
        return "/apis/kubedb.com/v1/mongodbs"
    return f"/apis/kubedb.com/v1/namespaces/{namespace}/mongodbs"


def secrets(namespace: str = "default") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets"


def mongodb(
    name: str,
    *,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    replicas: int = 1,
    **metadata: Any,
) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, **metadata}
    if namespace:
        md["namespace"] = namespace
    if labels:
        md["labels"] = labels
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": "MongoDB",
        "metadata": md,
        "spec": {"version": "8.0.17", "replicas": replicas},
    }


def secret(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data}


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


async def create(http: httpx.AsyncClient, body: dict[str, Any], ns: str = "default") -> Any:
    response = await http.post(mongodbs(ns), json=body)
    assert response.status_code == 201, response.text
    return response.json()


class Stream:
    """The events of one watch response, read line by line."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> dict[str, Any]:
        while True:
            line = await anext(self._lines)
            if line.strip():
                event: dict[str, Any] = json.loads(line)
                return event

    async def rest(self) -> list[dict[str, Any]]:
        """Every remaining event, until the server ends the stream."""
        return [json.loads(line) async for line in self._lines if line.strip()]


@asynccontextmanager
async def watching(http: httpx.AsyncClient, path: str, **params: Any) -> AsyncIterator[Stream]:
    query = {"watch": "1", **{k: str(v) for k, v in params.items()}}
    async with http.stream("GET", path, params=query) as response:
        assert response.status_code == 200
        yield Stream(response)
