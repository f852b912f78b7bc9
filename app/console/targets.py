"""What a console route is about, as typed FastAPI dependencies: the signed-in visitor, the
project or database in its path after the API's own check, and its POSTed form after the
CSRF check; with the page frame a project's pages share.

    ProjectWriter    = the visitor, after the API's WRITE check on the path's project
    WritableDatabase = the path's domain/project/database_id → `authorized_database`
                       (the API's function: 404 outside the key's tenant, then 403)
    CsrfForm         = the form's fields → `pages.form_of` (403 on a bad token)

FastAPI resolves a route's dependencies in the order its parameters are declared, and calls
none of them when the path's own parts are not valid (a 422 page). A route declares its
database BEFORE its `CsrfForm`, so that a key outside the tenant or too weak is refused
(404/403) before its form is read, as the API refuses before reading a body. A route with
other checked parts (a page number, an action's name) keeps the check in its body: its
dependencies would run before those parts are validated, turning a 422 into a 403/404.
Must not: decide a rule itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from pydantic import ValidationError

from app.api import auth, deps
from app.api.v1.database_routing import DNS_LABEL, authorized_database
from app.console import pages
from app.domain import access
from app.domain.databases import Database
from app.services.database_errors import Conflict

Visitor = Annotated[pages.Visitor, Depends(pages.visitor)]
Domain = Annotated[str, Path(pattern=DNS_LABEL, max_length=63)]
Project = Annotated[str, Path(pattern=DNS_LABEL, max_length=63)]


def base_of(domain: str, project: str) -> str:
    return f"{pages.PREFIX}/domain/{domain}/project/{project}/databases"


def page_of(database: Database) -> str:
    """The database's console page."""
    return f"{base_of(database.domain, database.project)}/{database.id}"


def may_write(visitor: pages.Visitor, domain: str, project: str) -> bool:
    decision = access.decide(
        visitor.principal, domain=domain, project=project, action=access.Action.WRITE
    )
    return decision is access.Decision.ALLOW


def check_project(
    visitor: pages.Visitor, domain: str, project: str, action: access.Action = access.Action.READ
) -> None:
    """The API's check on a project (404 outside the key's tenant, 403 for too weak a key)."""
    auth.authorize(
        visitor.principal,
        domain=domain,
        project=project,
        action=action,
        missing=f"project {domain}/{project} not found",
    )


async def _project_writer(visitor: Visitor, domain: Domain, project: Project) -> pages.Visitor:
    check_project(visitor, domain, project, access.Action.WRITE)
    return visitor


# The visitor, once the API's WRITE check on the path's project has let it through.
ProjectWriter = Annotated[pages.Visitor, Depends(_project_writer)]


def _database(action: access.Action) -> Callable[..., Awaitable[Database]]:
    async def authorized(
        visitor: Visitor,
        service: deps.Databases,
        domain: Domain,
        project: Project,
        database_id: str,
    ) -> Database:
        return await authorized_database(
            service, visitor.principal, domain, project, database_id, action
        )

    return authorized


ReadableDatabase = Annotated[Database, Depends(_database(access.Action.READ))]
WritableDatabase = Annotated[Database, Depends(_database(access.Action.WRITE))]
CredentialsDatabase = Annotated[Database, Depends(_database(access.Action.CREDENTIALS))]


async def _csrf_form(request: Request, visitor: Visitor) -> dict[str, str]:
    return await pages.form_of(request, csrf=visitor.session.csrf)


# Declare it after the route's database (or project check): see the module's docstring.
CsrfForm = Annotated[dict[str, str], Depends(_csrf_form)]


def field_errors(exc: ValidationError) -> dict[str, str]:
    """A request model's complaints by the form field they are about ("form" for none)."""
    return {str(e["loc"][0]) if e["loc"] else "form": e["msg"] for e in exc.errors()}


def conflict_field(exc: Conflict) -> str:
    """Where a create's conflict is shown: by the name when it is taken, else on the form."""
    return "name" if exc.code == "duplicate_name" else "form"


def project_page(
    name: str, visitor: pages.Visitor, domain: str, project: str, **context: Any
) -> Response:
    """A project's page (`name`) with the frame they share: the visitor, the project, the
    link base of its databases."""
    return pages.render(
        name,
        principal=visitor.principal,
        visitor=visitor,
        domain=domain,
        project=project,
        base=base_of(domain, project),
        **context,
    )
