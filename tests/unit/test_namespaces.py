"""The namespace of a project's databases."""

from __future__ import annotations

import pytest

from app.domain import errors, namespaces, validation


def test_a_project_namespace_is_domain_dash_project_dash_hash() -> None:
    name = namespaces.namespace_for("acme", "shop")

    assert name.startswith("acme-shop-") and len(name) == len("acme-shop-") + 6


def test_tenants_whose_names_join_alike_get_different_namespaces() -> None:
    assert namespaces.namespace_for("acme", "prod-db") != namespaces.namespace_for(
        "acme-prod", "db"
    )


def test_a_long_namespace_is_cut_and_hashed_to_a_dns_label() -> None:
    domain, project = "d" * 40, "p" * 40
    other = namespaces.namespace_for(domain, "p" * 39 + "q")

    name = namespaces.namespace_for(domain, project)

    assert len(name) == 63
    assert validation.check_dns_label(name, field="namespace") == name
    assert name.startswith("d" * 40 + "-" + "p" * 15)
    assert name.endswith("-" + name[-6:])
    assert name != other
    assert namespaces.namespace_for(domain, project) == name  # deterministic


def test_a_namespace_is_not_made_of_invalid_names() -> None:
    with pytest.raises(errors.InvalidName):
        namespaces.namespace_for("Acme", "shop")
