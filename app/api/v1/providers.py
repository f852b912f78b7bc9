"""`/api/v1/providers`: the Kubernetes clusters databases are placed on. Admin keys only.

Create and connection changes check the cluster first (422 with the reason when it does not
answer or lacks KubeDB). Answers show capacity per resource (total, reservation, allocated,
available) and how the provider is reached, never a kubeconfig's content.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.api import auth, deps, errors
from app.api.v1 import fields
from app.domain import clock, engines
from app.domain.providers import Provider, capacity_view
from app.store.protocols import ProviderFilter

router = APIRouter(
    prefix="/api/v1/providers",
    tags=["providers"],
    responses=errors.error_responses(400, 401, 403, 429),
)

ProviderId = Annotated[str, Path(min_length=1, max_length=64, description="`prv-...`")]
MAX_PAGE = 1_000_000

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Percent = Annotated[float, Field(gt=0, le=100)]
Amount = Annotated[float, Field(ge=0, le=1_000_000)]
Endpoint = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]
Tags = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=63)]], Field(max_length=50)
]
Metadata = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=500)]], Field(max_length=50)
]


Kubeconfig = Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)]
FilePath = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class _Connection(fields.RequestBody):
    kubeconfig_content: Kubeconfig | None = Field(
        default=None, description="raw YAML or base64 of it; stored encrypted, never returned"
    )
    kubeconfig_path: FilePath | None = None
    api_endpoint: Endpoint | None = None

    def given(self) -> list[str]:
        return [
            name
            for name in ("kubeconfig_content", "kubeconfig_path", "api_endpoint")
            if getattr(self, name) is not None
        ]


class CreateProvider(_Connection):
    model_config = ConfigDict(extra="forbid")

    name: Name
    region: Text
    availability_zone: Text | None = None
    cloud_provider: Text | None = None
    domain: str | None = Field(default=None, description="set: dedicated to that domain")
    cpu_total_cores: Amount
    memory_total_gb: Amount
    storage_total_gb: Amount
    cpu_reservation_percent: Percent = 80
    memory_reservation_percent: Percent = 80
    storage_reservation_percent: Percent = 80
    verify_ssl: bool = True
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0
    is_active: bool = True
    is_maintenance: bool = False
    tags: Tags = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)

    _domain = field_validator("domain")(fields.dns_label)

    @model_validator(mode="after")
    def _one_way_in(self) -> CreateProvider:
        if len(self.given()) != 1:
            raise ValueError(
                "give exactly one of kubeconfig_content, kubeconfig_path and api_endpoint"
            )
        return self


class UpdateProvider(_Connection):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    region: Text | None = None
    availability_zone: Text | None = None
    cloud_provider: Text | None = None
    domain: str | None = None
    cpu_total_cores: Amount | None = None
    memory_total_gb: Amount | None = None
    storage_total_gb: Amount | None = None
    cpu_reservation_percent: Percent | None = None
    memory_reservation_percent: Percent | None = None
    storage_reservation_percent: Percent | None = None
    verify_ssl: bool | None = None
    priority: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    is_active: bool | None = None
    is_maintenance: bool | None = None
    tags: Tags | None = None
    metadata: Metadata | None = None

    _domain = field_validator("domain")(fields.dns_label)

    @model_validator(mode="after")
    def _at_most_one_way_in(self) -> UpdateProvider:
        if len(self.given()) > 1:
            raise ValueError(
                "give at most one of kubeconfig_content, kubeconfig_path and api_endpoint"
            )
        return self


class ResourceCapacity(BaseModel):
    total: float
    reservation_percent: float
    allocatable: float
    allocated: float
    available: float


class ProviderOut(BaseModel):
    id: str
    name: str
    region: str
    availability_zone: str | None
    cloud_provider: str | None
    domain: str | None
    capacity: dict[str, ResourceCapacity]
    connection: str = Field(
        description="kubeconfig (stored encrypted), kubeconfig_path, "
        "api_endpoint, or default (the control plane's own)"
    )
    kubeconfig_path: str | None
    api_endpoint: str | None
    verify_ssl: bool
    priority: int
    is_active: bool
    is_maintenance: bool
    tags: list[str]
    metadata: dict[str, str]
    created_at: clock.Timestamp
    updated_at: clock.Timestamp

    @classmethod
    def of(cls, p: Provider) -> ProviderOut:
        connection = (
            "kubeconfig"
            if p.kubeconfig_encrypted
            else "kubeconfig_path"
            if p.kubeconfig_path
            else "api_endpoint"
            if p.api_endpoint
            else "default"
        )
        return cls(
            id=p.id,
            name=p.name,
            region=p.region,
            availability_zone=p.availability_zone,
            cloud_provider=p.cloud_provider,
            domain=p.domain,
            capacity={k: ResourceCapacity(**v) for k, v in capacity_view(p).items()},
            connection=connection,
            kubeconfig_path=p.kubeconfig_path,
            api_endpoint=p.api_endpoint,
            verify_ssl=p.verify_ssl,
            priority=p.priority,
            is_active=p.is_active,
            is_maintenance=p.is_maintenance,
            tags=p.tags,
            metadata=p.metadata,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class ProviderPage(BaseModel):
    providers: list[ProviderOut]
    total: int
    page: int
    page_size: int


class VersionOut(BaseModel):
    version: str
    deprecated: bool
    default: bool


_ERRORS = errors.error_responses(
    404,
    409,
    422,
    s409="the name is taken, or databases use it",
    s422="invalid, or the cluster does not answer or lacks KubeDB",
)


@router.post(
    "",
    status_code=201,
    response_model=ProviderOut,
    summary="Register a provider",
    responses=_ERRORS,
)
@router.post("/", status_code=201, response_model=ProviderOut, include_in_schema=False)
async def create_provider(
    body: CreateProvider, caller: auth.Admin, service: deps.Providers, response: Response
) -> ProviderOut:
    created = await service.create(body.model_dump())
    response.headers["Location"] = f"/api/v1/providers/{created.id}"
    return ProviderOut.of(created)


@router.get("", response_model=ProviderPage, summary="Providers, newest first")
@router.get("/", response_model=ProviderPage, include_in_schema=False)
async def list_providers(
    caller: auth.Admin,
    service: deps.Providers,
    region: Annotated[str | None, Query(max_length=100)] = None,
    availability_zone: Annotated[str | None, Query(max_length=100)] = None,
    is_active: bool | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProviderPage:
    result = await service.page(
        ProviderFilter(region=region, availability_zone=availability_zone, is_active=is_active),
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return ProviderPage(
        providers=[ProviderOut.of(p) for p in result.items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


@router.get("/{provider_id}", response_model=ProviderOut, summary="One provider", responses=_ERRORS)
async def get_provider(
    provider_id: ProviderId, caller: auth.Admin, service: deps.Providers
) -> ProviderOut:
    return ProviderOut.of(await service.get(provider_id))


@router.patch(
    "/{provider_id}", response_model=ProviderOut, summary="Change a provider", responses=_ERRORS
)
async def update_provider(
    provider_id: ProviderId, body: UpdateProvider, caller: auth.Admin, service: deps.Providers
) -> ProviderOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    nulls = [
        k
        for k, v in changes.items()
        if v is None and k != "domain" and k not in ("availability_zone", "cloud_provider")
    ]
    if nulls:
        raise errors.ValidationFailed({k: "may not be null" for k in nulls})
    return ProviderOut.of(await service.update(provider_id, changes))


@router.delete("/{provider_id}", status_code=204, summary="Remove a provider", responses=_ERRORS)
async def delete_provider(
    provider_id: ProviderId, caller: auth.Admin, service: deps.Providers
) -> Response:
    await service.delete(provider_id)
    return Response(status_code=204)


@router.get(
    "/{provider_id}/versions/{engine}",
    response_model=list[VersionOut],
    summary="Versions the provider's cluster offers",
    responses=_ERRORS,
)
async def provider_versions(
    provider_id: ProviderId, engine: engines.Engine, caller: auth.Admin, service: deps.Providers
) -> list[VersionOut]:
    offered = await service.versions(provider_id, engine)
    return [
        VersionOut(version=v.version, deprecated=v.deprecated, default=v.default) for v in offered
    ]
