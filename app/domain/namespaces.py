"""Where a database's cluster objects live: one Kubernetes namespace per project.

The namespace of every database of project `p` in domain `d` is `<d>-<p>-<hash>`, where
`<hash>` is six hex characters of the SHA-256 of `d/p`. The hash is always there because
the joined name alone is ambiguous: domain `acme` with project `prod-db` and domain
`acme-prod` with project `db` would share `acme-prod-db`, and one tenant's handlers would
then find another tenant's objects. Past 63 characters the readable part is cut. The rule
is deterministic, so a re-run step, the reconciler and the credentials endpoint all find
the same namespace; the create step also stores it on the record (`Database.namespace`),
and everything after creation reads it from there. See docs/placement.md.

This module must not read anything: which cluster a database goes to is not its business.
"""

from __future__ import annotations

import hashlib

from app.domain import validation

MAX_NAMESPACE_LENGTH = 63
_HASH_LENGTH = 6


def namespace_for(domain: str, project: str) -> str:
    """The namespace of a project's databases: `<domain>-<project>-<hash of both>`."""
    validation.check_dns_label(domain, field="domain")
    validation.check_dns_label(project, field="project")
    digest = hashlib.sha256(f"{domain}/{project}".encode()).hexdigest()[:_HASH_LENGTH]
    head = f"{domain}-{project}"[: MAX_NAMESPACE_LENGTH - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}"
