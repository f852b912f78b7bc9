"""Who may do what where: the access rules of DESIGN §5 as one table and one scope match.

    role     read  write  credentials  admin      scope
    admin     ✓     ✓        ✓           ✓        the whole platform
    owner     ✓     ✓        ✓                    a domain (all its projects) or one project
    member    ✓     ✓        ✓                    a domain (all its projects) or one project
    viewer    ✓                                   a domain (all its projects) or one project

A decision has three outcomes, because a key must never learn that another tenant's objects
exist: `HIDE` (the tenant is outside the key's scope: the API answers 404, as for a missing
object), `FORBID` (the key sees the tenant but its role or scope is too weak: 403) and `ALLOW`.
A project key asking about its own domain as a whole (a domain-level resource) is `FORBID`:
it knows its domain exists, so there is nothing to hide.

API keys themselves are managed by admins (all keys) and by owners within their scope
(`decide_key_management`); an owner never sees admin keys or keys of a wider scope.

Must not: touch the store, HTTP or settings. Every rule is tested exhaustively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum

from app.domain.api_keys import ApiKey, Role


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    CREDENTIALS = "credentials"  # read a database's connection secret
    ADMIN = "admin"  # platform administration


class Decision(StrEnum):
    ALLOW = "allow"
    FORBID = "forbid"  # 403: in scope, not permitted
    HIDE = "hide"  # 404: out of scope, as if it did not exist


PERMISSIONS: Mapping[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.OWNER: frozenset({Action.READ, Action.WRITE, Action.CREDENTIALS}),
    Role.MEMBER: frozenset({Action.READ, Action.WRITE, Action.CREDENTIALS}),
    Role.VIEWER: frozenset({Action.READ}),
}

# Roles that may create, list and revoke keys within their own scope (admins: everywhere).
KEY_MANAGERS = frozenset({Role.ADMIN, Role.OWNER})


class _Cover(Enum):
    FULL = "full"  # the target lies inside the key's scope
    NARROWER = "narrower"  # same domain, but the key is scoped to one of its projects
    NONE = "none"  # another tenant


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as an authenticated API key says: id, role and scope."""

    key_id: str
    role: Role
    domain: str | None = None
    project: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> Principal:
        return cls(key_id=key.id, role=key.role, domain=key.domain, project=key.project)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def _cover(principal: Principal, *, domain: str | None, project: str | None) -> _Cover:
    if principal.is_admin:
        return _Cover.FULL
    if principal.domain is None or domain != principal.domain:
        return _Cover.NONE
    if principal.project is None or project == principal.project:
        return _Cover.FULL
    return _Cover.NARROWER if project is None else _Cover.NONE


def decide(principal: Principal, *, domain: str, project: str | None, action: Action) -> Decision:
    """May `principal` do `action` on a tenant's objects? `project=None` means the domain as
    a whole (a domain-level resource such as its quotas)."""
    cover = _cover(principal, domain=domain, project=project)
    if cover is _Cover.NONE:
        return Decision.HIDE
    if cover is _Cover.NARROWER or action not in PERMISSIONS[principal.role]:
        return Decision.FORBID
    return Decision.ALLOW


def decide_platform(principal: Principal) -> Decision:
    """Platform administration (providers, all keys, audit): admins only, 403 for others
    (there is no tenant to hide)."""
    return Decision.ALLOW if Action.ADMIN in PERMISSIONS[principal.role] else Decision.FORBID


def decide_key_management(
    principal: Principal, *, domain: str | None, project: str | None
) -> Decision:
    """May `principal` see or revoke a key with this scope (`domain=None`: an admin key)?

    Keys outside the caller's scope, admin keys and wider-scoped keys are hidden from
    non-admins (they never appear in the caller's list either); inside the scope, only a
    key manager role may act."""
    if principal.is_admin:
        return Decision.ALLOW
    if domain is None or _cover(principal, domain=domain, project=project) is not _Cover.FULL:
        return Decision.HIDE
    return Decision.ALLOW if principal.role in KEY_MANAGERS else Decision.FORBID


def decide_key_issue(
    principal: Principal, *, role: Role, domain: str | None, project: str | None
) -> Decision:
    """May `principal` create a key with this role and scope? An owner may create owner,
    member and viewer keys inside its own scope; anything else is 403 (the request names the
    scope itself, so refusing reveals nothing about other tenants)."""
    if principal.is_admin:
        return Decision.ALLOW
    if principal.role not in KEY_MANAGERS or role is Role.ADMIN or domain is None:
        return Decision.FORBID
    if _cover(principal, domain=domain, project=project) is not _Cover.FULL:
        return Decision.FORBID
    return Decision.ALLOW


def visible_scope(principal: Principal) -> tuple[str | None, str | None]:
    """The (domain, project) filter a list must apply for this caller; None means any."""
    if principal.is_admin:
        return None, None
    if principal.domain is None:
        # A scoped role without a scope should not exist; if one does, it sees nothing.
        return "\x00no-scope", None
    return principal.domain, principal.project
