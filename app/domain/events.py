"""Lifecycle events: who or what changed a database, when, and from which state to which."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain import clock, ids


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: ids.new_id(ids.IdPrefix.EVENT))
    database_id: str
    domain: str
    project: str
    reason: str
    message: str
    actor: str | None = None
    operation_id: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: clock.Timestamp = Field(default_factory=clock.utcnow)
