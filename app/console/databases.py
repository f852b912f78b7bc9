"""The console's database pages: the create form, a database's fragments (status badges,
credentials); the lists are `database_lists`, the database's own page `database_page`.

Every page calls the services the API calls (`DatabaseLists`, `DatabaseService`,
`CatalogService`) with the API's checks (`app.api.auth.authorize`, the create body model
`CreateDatabaseIn`), so a page can show or do nothing the API would refuse. Buttons a key may
not use are not shown, and the server refuses them anyway.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.api import deps
from app.api.v1 import database_models as models
from app.console import database_forms, pages, targets
from app.console.targets import CsrfForm, Domain, Project, ProjectWriter, base_of
from app.domain import client_commands, engines
from app.services.catalog import CatalogUnavailable
from app.services.database_errors import Conflict, RuleViolated
from app.services.databases import NewDatabase
from app.services.errors import ServiceError

router = APIRouter(prefix=pages.PREFIX, route_class=pages.ConsoleRoute, include_in_schema=False)


async def _versions(catalog: deps.Catalog) -> tuple[dict[str, list[str]], str | None]:
    """The versions offered per engine (newest first), or why the catalog is unreadable."""
    offered: dict[str, list[str]] = {}
    try:
        for engine in engines.Engine:
            offered[engine.value] = [v.version for v in await catalog.offered(engine)]
    except CatalogUnavailable as exc:
        return offered, exc.message
    return offered, None


def _engine_options(
    engine: str | None,
    versions: dict[str, list[str]],
    values: dict[str, str],
) -> dict[str, Any]:
    """The parts of the create form that follow the engine: its versions, the replica
    counts its topology takes with or without high availability, the rule in words."""
    chosen = engine if engine in versions else next(iter(versions), engines.Engine.POSTGRES)
    ha = values.get("high_availability") == "on"
    return {
        "engine": chosen,
        "engine_versions": versions.get(chosen, []),
        "replica_choices": database_forms.replica_choices(chosen, high_availability=ha),
        "topology_help": database_forms.topology_help(chosen),
    }


async def _create_form(
    visitor: pages.Visitor,
    catalog: deps.Catalog,
    domain: str,
    project: str,
    *,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    versions, unavailable = await _versions(catalog)
    values = values or {}
    return targets.project_page(
        "create.html",
        visitor,
        domain,
        project,
        status=status,
        title=f"Create a database in {domain}/{project}",
        versions=versions,
        sizes=list(catalog.sizes),
        default_size=catalog.sizes.default_name,
        storage=(database_forms.STORAGE_MIN_GB, database_forms.STORAGE_MAX_GB),
        default_storage=models.CreateDatabaseIn.model_fields["storage_gb"].default,
        values=values,
        field_errors=field_errors or {},
        error=unavailable,
        **_engine_options(values.get("engine"), versions, values),
    )


@router.get("/domain/{domain}/project/{project}/databases/new")
async def create_form(
    visitor: ProjectWriter, catalog: deps.Catalog, domain: Domain, project: Project
) -> Response:
    return await _create_form(visitor, catalog, domain, project)


@router.get("/domain/{domain}/project/{project}/databases/new/options")
async def engine_options(
    request: Request, _: ProjectWriter, catalog: deps.Catalog, domain: Domain, project: Project
) -> Response:
    """The version and replica choices for the engine picked (htmx, on its change)."""
    versions, unavailable = await _versions(catalog)
    values = {k: request.query_params.get(k, "") for k in ("engine", "high_availability")}
    return pages.render(
        "_engine_options.html",
        values=values,
        field_errors={"version": unavailable} if unavailable else {},
        **_engine_options(values["engine"], versions, values),
    )


_FORM_FIELDS = (
    "name",
    "engine",
    "version",
    "size",
    "replicas",
    "storage_gb",
    "high_availability",
    "deletion_protection",
)


@router.post("/domain/{domain}/project/{project}/databases")
async def create_database(
    visitor: ProjectWriter,  # before the form is read: 403/404 tell nothing more
    service: deps.Databases,
    catalog: deps.Catalog,
    domain: Domain,
    project: Project,
    form: CsrfForm,
) -> Response:
    values = {name: form.get(name, "").strip() for name in _FORM_FIELDS}
    again = partial(_create_form, visitor, catalog, domain, project, values=values)
    try:
        # A form is text: numbers and check boxes are read as the API reads JSON's.
        asked = {k: v for k, v in values.items() if v}
        body = models.CreateDatabaseIn.model_validate(asked, strict=False)
    except ValidationError as exc:
        return await again(field_errors=targets.field_errors(exc), status=422)
    fields = body.model_dump(mode="json", exclude={*body.PLACEMENT, "restore_from"})
    try:
        database, _ = await service.create(
            domain, project, NewDatabase(**fields), actor=visitor.principal.key_id
        )
    except RuleViolated as exc:
        field = exc.field.removeprefix("body.")
        field = field if field in _FORM_FIELDS else "form"
        return await again(field_errors={field: exc.message}, status=422)
    except Conflict as exc:
        return await again(field_errors={targets.conflict_field(exc): exc.message}, status=409)
    return RedirectResponse(f"{base_of(domain, project)}/{database.id}", status_code=303)


@router.get("/domain/{domain}/project/{project}/databases/{database_id}/status")
async def database_status(database: targets.ReadableDatabase) -> Response:
    """The status badges alone, for the page to refresh them in place (htmx)."""
    base = base_of(database.domain, database.project)
    return pages.render("_status.html", database=database, base=base)


@router.get("/domain/{domain}/project/{project}/databases/{database_id}/credentials")
async def database_credentials(
    service: deps.Databases, database: targets.CredentialsDatabase
) -> Response:
    """The connection details with the password, as a fragment the page asks for on a
    click (never rendered into the page otherwise), with the API's CREDENTIALS check."""
    try:
        info = await service.connection_details(database)
    except ServiceError as exc:  # shown in place: htmx does not swap in an error answer
        response = pages.render("_credentials.html", info=None, problem=exc.message)
    else:
        command = client_commands.client_command(database.engine, info)
        response = pages.render(
            "_credentials.html", info=info, command=command, database=database, problem=None
        )
    response.headers["Cache-Control"] = "no-store"
    return response
