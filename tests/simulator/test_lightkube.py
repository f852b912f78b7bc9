"""lightkube, the client our cluster gateway uses, against the simulator."""

from __future__ import annotations

import asyncio

from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

from simulator.server import Served

MongoDB = create_namespaced_resource("kubedb.com", "v1", "MongoDB", "mongodbs")


async def test_lightkube_creates_patches_applies_lists_watches_and_reads_errors(
    sim: Served,
) -> None:
    client = AsyncClient(KubeConfig.from_dict(sim.kubeconfig()))
    try:
        created = await client.create(
            MongoDB(
                metadata=ObjectMeta(name="mg1", namespace="default"), spec={"version": "8.0.17"}
            )
        )
        rv = created.metadata.resourceVersion
        patched = await client.patch(
            MongoDB,
            "mg1",
            {"spec": {"replicas": 3}},
            namespace="default",
            patch_type=PatchType.MERGE,
        )
        status = await client.patch(
            MongoDB.Status,
            "mg1",
            {"status": {"phase": "Ready"}},
            namespace="default",
            patch_type=PatchType.MERGE,
        )
        applied = await client.apply(
            MongoDB(
                metadata=ObjectMeta(name="mg2", namespace="default"), spec={"version": "8.0.17"}
            ),
            field_manager="dbaas",
        )
        secret = await client.create(
            Secret(metadata=ObjectMeta(name="s1", namespace="default"), stringData={"a": "b"})
        )
        names = [o.metadata.name async for o in client.list(MongoDB, namespace="*", chunk_size=1)]
        events = []

        async def follow() -> None:
            async for kind, obj in client.watch(MongoDB, namespace="default", resource_version=rv):
                events.append((kind, obj.metadata.name))
                if kind == "DELETED":
                    return

        await client.delete(MongoDB, "mg2", namespace="default")
        await asyncio.wait_for(follow(), timeout=5)
        try:
            await client.get(MongoDB, "nope", namespace="default")
        except ApiError as exc:
            missing = (exc.status.code, exc.status.reason)
    finally:
        await client.close()

    assert (created.metadata.generation, patched.metadata.generation) == (1, 2)
    assert status.status == {"phase": "Ready"}
    assert applied.metadata and applied.metadata.managedFields
    assert applied.metadata.managedFields[0].manager == "dbaas"
    assert secret.data == {"a": "Yg=="}
    assert names == ["mg1", "mg2"]
    assert events == [
        ("MODIFIED", "mg1"),
        ("MODIFIED", "mg1"),
        ("ADDED", "mg2"),
        ("DELETED", "mg2"),
    ]
    assert missing == (404, "NotFound")
