"""Errors as RFC 9457 problem details (``application/problem+json``), independent of any web framework.

``problem_for`` maps each typed error to its status, a stable ``type`` URI (listed in
docs/rules-api.md) and a ``detail`` that says what failed and what to do; validation failures carry
``errors``: ``[{rule_id, path, message, index}]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.entities import EntityRequestInvalid, EntityRequestTooLarge
from shared.rules_admin.errors import (
    RequestInvalid,
    RequestTooLarge,
    RuleNotFound,
    RulesAdminError,
    RuleSetMissing,
    RulesInvalid,
    ServiceMisconfigured,
    VersionMismatch,
    VersionNotFound,
)
from shared.store.errors import StoreError, StoreUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:squall:problem:"

# error class -> (status, type slug, title); the first matching class wins
_KNOWN: tuple[tuple[type[Exception], int, str, str], ...] = (
    (RequestInvalid, 400, "bad-request", "The request is malformed"),
    (EntityRequestTooLarge, 413, "request-too-large", "The request is too large"),
    (EntityRequestInvalid, 400, "bad-request", "The request is malformed"),
    (RequestTooLarge, 413, "request-too-large", "The request is too large"),
    (RuleNotFound, 404, "rule-not-found", "No such rule"),
    (RuleSetMissing, 404, "ruleset-not-found", "No such rule set"),
    (VersionNotFound, 404, "version-not-found", "No such version of the rule set"),
    (RulesInvalid, 422, "rules-invalid", "The rules are invalid"),
    (VersionMismatch, 412, "version-mismatch", "The rule set has changed"),
    (ServiceMisconfigured, 500, "misconfigured", "A setting is invalid"),
    (StoreUnavailable, 503, "store-unavailable", "The rule store is unavailable"),
    (StoreError, 500, "store-error", "The rule store failed"),
)


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    type: str
    title: str
    detail: str
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extensions,
        }


def problem(status: int, slug: str, title: str, detail: str, **extensions: Any) -> Problem:
    return Problem(status, _TYPE_PREFIX + slug, title, detail, dict(extensions))


def problem_for(error: Exception) -> Problem:
    """The problem document for ``error``; unknown errors become a 500 that reveals nothing."""
    for kind, status, slug, title in _KNOWN:
        if isinstance(error, kind):
            return _with_details(problem(status, slug, title, str(error)), error)
    return problem(500, "internal", "Internal error", "an unexpected error occurred; the function's log has details")


def _with_details(found: Problem, error: Exception) -> Problem:
    if isinstance(error, RulesInvalid):
        found.extensions["errors"] = [
            {"rule_id": e.rule_id, "path": e.path, "message": e.message, "index": e.index} for e in error.errors
        ]
    elif isinstance(error, VersionMismatch):
        found.extensions["current_version"] = error.actual
        found.headers["ETag"] = f'"{error.actual}"'
    elif isinstance(error, StoreUnavailable) and error.retry_after is not None:
        found.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    elif isinstance(error, RuleNotFound | RuleSetMissing | VersionNotFound):
        found.extensions["ruleset"] = error.ruleset
    return found


__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "RulesAdminError", "problem", "problem_for"]
