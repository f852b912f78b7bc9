"""Lists: label and field selectors, all namespaces, limit + continue pagination."""

from __future__ import annotations

import httpx
import pytest

from simulator import errors
from simulator.selectors import LabelSelector
from simulator.server import Served
from tests.simulator.kube import create, mongodb, mongodbs, namespace

LABELS = {"env": "prod", "tier": "db", "size": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("env=prod", True),
        ("env==prod", True),
        ("env=dev", False),
        ("env!=dev", True),
        ("missing!=x", True),
        ("env in (dev,prod)", True),
        ("env in (dev)", False),
        ("env notin (dev, test)", True),
        ("env notin (prod)", False),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("env=prod,tier=db", True),
        ("env=prod,tier=cache", False),
        ("size>2", True),
        ("size<2", False),
        ("", True),
    ],
)
def test_each_label_selector_operator_matches_as_kubernetes_does(
    selector: str, matches: bool
) -> None:
    assert LabelSelector.parse(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["env in ()", "=x", "env=a b", "bad key=x", "env in (a"])
def test_a_malformed_label_selector_is_a_bad_request(selector: str) -> None:
    with pytest.raises(errors.BadRequest):
        LabelSelector.parse(selector)


async def test_lists_filter_by_label_selector(http: httpx.AsyncClient) -> None:
    await create(http, mongodb("a", labels={"env": "prod", "team": "x"}))
    await create(http, mongodb("b", labels={"env": "dev"}))
    await create(http, mongodb("c"))

    async def names(selector: str) -> list[str]:
        response = await http.get(mongodbs(), params={"labelSelector": selector})
        assert response.status_code == 200, response.text
        return [item["metadata"]["name"] for item in response.json()["items"]]

    assert await names("env=prod") == ["a"]
    assert await names("env!=prod") == ["b", "c"]
    assert await names("env in (prod,dev)") == ["a", "b"]
    assert await names("env notin (prod)") == ["b", "c"]
    assert await names("team") == ["a"]
    assert await names("!env") == ["c"]
    assert await names("env,!team") == ["b"]
    bad = await http.get(mongodbs(), params={"labelSelector": "env in ("})
    assert (bad.status_code, bad.json()["reason"]) == (400, "BadRequest")


async def test_lists_filter_by_field_selector_and_span_namespaces(
    http: httpx.AsyncClient,
) -> None:
    await http.post("/api/v1/namespaces", json=namespace("other"))
    await create(http, mongodb("a"))
    await create(http, mongodb("a"), ns="other")
    await create(http, mongodb("b"), ns="other")

    everywhere = (await http.get(mongodbs(None))).json()
    named = (await http.get(mongodbs(None), params={"fieldSelector": "metadata.name=a"})).json()
    other = (
        await http.get(
            mongodbs(None), params={"fieldSelector": "metadata.namespace=other,metadata.name!=a"}
        )
    ).json()
    unsupported = await http.get(mongodbs(), params={"fieldSelector": "status.phase=Ready"})

    def keys(body: dict[str, object]) -> list[tuple[str, str]]:
        items = body["items"]
        assert isinstance(items, list)
        return [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items]

    assert everywhere["kind"] == "MongoDBList" and everywhere["apiVersion"] == "kubedb.com/v1"
    assert everywhere["metadata"]["resourceVersion"]
    assert keys(everywhere) == [("default", "a"), ("other", "a"), ("other", "b")]
    assert keys(named) == [("default", "a"), ("other", "a")]
    assert keys(other) == [("other", "b")]
    assert unsupported.status_code == 400


async def test_limit_and_continue_page_through_a_stable_order(
    sim: Served,
    http: httpx.AsyncClient,
) -> None:
    client = sim.client()
    await client.create(namespace("zeta"))
    for i in range(7):
        await client.create(mongodb(f"db-{i}"))
    await client.create(mongodb("db-x", namespace="zeta"))

    pages, token = [], None
    first_rv = None
    while True:
        params = {"limit": "3", **({"continue": token} if token else {})}
        body = (await http.get(mongodbs(None), params=params)).json()
        first_rv = first_rv or body["metadata"]["resourceVersion"]
        assert body["metadata"]["resourceVersion"] == first_rv
        pages.append([(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]])
        token = body["metadata"].get("continue")
        if not token:
            break
        await client.create(mongodb(f"aa-late-{len(pages)}"))  # before the cursor: not seen

    assert [len(p) for p in pages] == [3, 3, 2]
    flat = [key for page in pages for key in page]
    assert flat == sorted(flat) and len(set(flat)) == 8
    assert flat[-1] == ("zeta", "db-x")
    bad = await http.get(mongodbs(), params={"limit": "2", "continue": "not-a-token"})
    assert (bad.status_code, bad.json()["reason"]) == (400, "BadRequest")
