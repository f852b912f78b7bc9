"""The domain's error tree: what a rule says when a value breaks it.

    DomainError
    ├── InvalidValue            (field, message, code)  → the API answers 422 with the field
    │   ├── UnknownEngine
    │   ├── UnknownSize
    │   ├── InvalidName
    │   ├── InvalidLabels
    │   ├── InvalidAnnotations
    │   ├── InvalidTopology
    │   ├── ReplicaRuleViolated (+ rule: which engine rule, e.g. "mysql.group_replication")
    │   └── StorageRuleViolated
    ├── InvalidConfiguration    (source, message)       → bad operator-supplied data, at startup
    ├── IllegalTransition       (current, target)       → an operation status move the state
    │                                                     machine forbids (a defect, never a
    │                                                     user's error)
    └── NoProvider              (reason, capacity)      → nothing can take a database (the
                                                          service answers 409 or 422)

Leaves carry structured fields, not only text: `field` is the request field (dotted for nested
ones, e.g. `labels.team`), `message` a sentence a user can act on, `code` a snake_case code for
the API error body. Nothing here knows about HTTP; the API maps `InvalidValue` to 422.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a domain rule raises on purpose."""


class InvalidValue(DomainError, ValueError):
    code = "invalid_value"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownEngine(InvalidValue):
    code = "unknown_engine"


class UnknownSize(InvalidValue):
    code = "unknown_size"


class InvalidName(InvalidValue):
    code = "invalid_name"


class InvalidLabels(InvalidValue):
    code = "invalid_labels"


class InvalidAnnotations(InvalidValue):
    code = "invalid_annotations"


class InvalidTopology(InvalidValue):
    code = "invalid_topology"


class ReplicaRuleViolated(InvalidValue):
    code = "replica_rule_violated"

    def __init__(self, field: str, message: str, *, rule: str) -> None:
        super().__init__(field, message)
        self.rule = rule


class StorageRuleViolated(InvalidValue):
    code = "storage_rule_violated"


class InvalidConfiguration(DomainError):
    """Operator-supplied data (such as the size table) that cannot be used."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class IllegalTransition(DomainError, ValueError):
    """An operation status move `app.domain.operations` does not allow. Raised by the engine
    before it writes and by both store adapters, which refuse the write; always a defect."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"operation cannot go from {current} to {target}")
        self.current = current
        self.target = target


class NoProvider(DomainError):
    """Nothing can take the database; `reason` says why, for the API's error."""

    def __init__(self, reason: str, *, capacity: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        # True: providers match but none has room (409); False: none matches at all (422).
        self.capacity = capacity
