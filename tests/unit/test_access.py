"""The access rules (DESIGN §5), for every role, action and scope relation."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from app.domain.access import (
    PERMISSIONS,
    Action,
    Decision,
    Principal,
    decide,
    decide_key_issue,
    decide_key_management,
    decide_platform,
    visible_scope,
)
from app.domain.api_keys import ApiKey, Role

TENANT_ROLES = [Role.OWNER, Role.MEMBER, Role.VIEWER]
EXPECTED_ACTIONS = {
    Role.ADMIN: {Action.READ, Action.WRITE, Action.CREDENTIALS, Action.ADMIN},
    Role.OWNER: {Action.READ, Action.WRITE, Action.CREDENTIALS},
    Role.MEMBER: {Action.READ, Action.WRITE, Action.CREDENTIALS},
    Role.VIEWER: {Action.READ},
}

ADMIN = Principal(key_id="key-admin", role=Role.ADMIN)


def domain_key(role: Role) -> Principal:
    return Principal(key_id="key-d", role=role, domain="acme")


def project_key(role: Role) -> Principal:
    return Principal(key_id="key-p", role=role, domain="acme", project="shop")


# (key scope, target (domain, project), how the target relates to the scope)
SCOPES = [
    (domain_key, ("acme", "shop"), "inside"),
    (domain_key, ("acme", "billing"), "inside"),
    (domain_key, ("acme", None), "inside"),
    (domain_key, ("globex", "shop"), "outside"),
    (domain_key, ("globex", None), "outside"),
    (project_key, ("acme", "shop"), "inside"),
    (project_key, ("acme", "billing"), "outside"),
    (project_key, ("acme", None), "wider"),
    (project_key, ("globex", "shop"), "outside"),
    (project_key, ("globex", None), "outside"),
]


def expected(role: Role, relation: str, action: Action) -> Decision:
    if relation == "outside":
        return Decision.HIDE
    if relation == "wider" or action not in EXPECTED_ACTIONS[role]:
        return Decision.FORBID
    return Decision.ALLOW


TENANT_CASES = [
    pytest.param(
        role,
        make,
        target,
        relation,
        action,
        id=f"{role.value}-{make.__name__}-{target[0]}/{target[1]}-{action.value}",
    )
    for role, (make, target, relation), action in itertools.product(
        TENANT_ROLES, SCOPES, list(Action)
    )
]


@pytest.mark.parametrize(("role", "make", "target", "relation", "action"), TENANT_CASES)
def test_a_tenant_key_is_allowed_forbidden_or_kept_in_the_dark_by_role_and_scope(
    role: Role,
    make: Callable[[Role], Principal],
    target: tuple[str, str | None],
    relation: str,
    action: Action,
) -> None:
    domain, project = target

    decision = decide(make(role), domain=domain, project=project, action=action)

    assert decision is expected(role, relation, action)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize(("domain", "project"), [("acme", "shop"), ("globex", None)])
def test_an_admin_key_may_do_anything_anywhere(
    action: Action, domain: str, project: str | None
) -> None:
    assert decide(ADMIN, domain=domain, project=project, action=action) is Decision.ALLOW


def test_the_action_table_is_the_documented_one() -> None:
    assert {role: set(actions) for role, actions in PERMISSIONS.items()} == EXPECTED_ACTIONS


@pytest.mark.parametrize("role", TENANT_ROLES)
def test_a_scoped_key_with_no_domain_sees_nothing(role: Role) -> None:
    broken = Principal(key_id="key-x", role=role)

    assert decide(broken, domain="acme", project="shop", action=Action.READ) is Decision.HIDE


@pytest.mark.parametrize("role", list(Role))
def test_platform_administration_needs_an_admin_key(role: Role) -> None:
    principal = ADMIN if role is Role.ADMIN else domain_key(role)

    wanted = Decision.ALLOW if role is Role.ADMIN else Decision.FORBID
    assert decide_platform(principal) is wanted


# (target key scope, relation to a domain key of acme, relation to a project key of acme/shop)
KEY_SCOPES = [
    ((None, None), "hidden", "hidden"),  # an admin key
    (("acme", None), "inside", "hidden"),
    (("acme", "shop"), "inside", "inside"),
    (("acme", "billing"), "inside", "hidden"),
    (("globex", None), "hidden", "hidden"),
    (("globex", "shop"), "hidden", "hidden"),
]


@pytest.mark.parametrize("role", TENANT_ROLES)
@pytest.mark.parametrize(("target", "for_domain_key", "for_project_key"), KEY_SCOPES)
def test_owners_manage_keys_inside_their_scope_and_never_see_others(
    role: Role, target: tuple[str | None, str | None], for_domain_key: str, for_project_key: str
) -> None:
    domain, project = target
    for make, relation in ((domain_key, for_domain_key), (project_key, for_project_key)):
        decision = decide_key_management(make(role), domain=domain, project=project)

        if relation == "hidden":
            assert decision is Decision.HIDE
        else:
            assert decision is (Decision.ALLOW if role is Role.OWNER else Decision.FORBID)


@pytest.mark.parametrize(("domain", "project"), [(None, None), ("acme", "shop"), ("globex", None)])
def test_an_admin_manages_every_key(domain: str | None, project: str | None) -> None:
    assert decide_key_management(ADMIN, domain=domain, project=project) is Decision.ALLOW


@pytest.mark.parametrize("new_role", list(Role))
@pytest.mark.parametrize("caller_role", list(Role))
@pytest.mark.parametrize(
    ("make", "target", "inside"),
    [
        (domain_key, ("acme", None), True),
        (domain_key, ("acme", "shop"), True),
        (domain_key, ("globex", None), False),
        (project_key, ("acme", "shop"), True),
        (project_key, ("acme", None), False),
        (project_key, ("acme", "billing"), False),
        (project_key, (None, None), False),
    ],
)
def test_only_admins_and_owners_issue_keys_and_owners_only_inside_their_scope(
    new_role: Role,
    caller_role: Role,
    make: Callable[[Role], Principal],
    target: tuple[str | None, str | None],
    inside: bool,
) -> None:
    caller = ADMIN if caller_role is Role.ADMIN else make(caller_role)
    domain, project = target

    decision = decide_key_issue(caller, role=new_role, domain=domain, project=project)

    allowed = caller_role is Role.ADMIN or (
        caller_role is Role.OWNER and new_role is not Role.ADMIN and inside
    )
    assert decision is (Decision.ALLOW if allowed else Decision.FORBID)


def test_a_list_is_narrowed_to_the_callers_scope() -> None:
    assert visible_scope(ADMIN) == (None, None)
    assert visible_scope(domain_key(Role.VIEWER)) == ("acme", None)
    assert visible_scope(project_key(Role.OWNER)) == ("acme", "shop")


def test_a_principal_is_taken_from_its_key_and_cannot_be_changed() -> None:
    key = ApiKey(name="ci", role=Role.MEMBER, domain="acme", project="shop", key_hash="00")

    principal = Principal.of(key)

    assert principal == Principal(key_id=key.id, role=Role.MEMBER, domain="acme", project="shop")
    with pytest.raises(AttributeError):
        principal.role = Role.ADMIN  # type: ignore[misc]
