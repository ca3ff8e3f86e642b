"""What can go wrong when rules are managed: each error carries what a caller needs to answer."""

from __future__ import annotations

from collections.abc import Sequence

from shared.rules import RuleError


class RulesAdminError(Exception):
    """Base class: a request about rules that cannot be carried out as asked."""


class RequestInvalid(RulesAdminError):
    """The input is not the expected shape (not a JSON object, no ``events`` list, bad ruleset name)."""


class RequestTooLarge(RulesAdminError):
    """More items than one request may carry."""


class RuleNotFound(RulesAdminError):
    def __init__(self, ruleset: str, rule_id: str) -> None:
        super().__init__(f"rule set {ruleset!r} has no rule {rule_id!r}")
        self.ruleset = ruleset
        self.rule_id = rule_id


class RuleSetMissing(RulesAdminError):
    """No version of the rule set is stored (nothing to test against)."""

    def __init__(self, ruleset: str) -> None:
        super().__init__(f"no rule set named {ruleset!r} is stored; push rules first or post them")
        self.ruleset = ruleset


class RulesInvalid(RulesAdminError):
    """The rules (or the rule set they would produce) fail validation; nothing was stored."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        invalid = len({(error.index, error.rule_id) for error in errors})
        super().__init__(f"{len(errors)} problem(s) in {invalid} rule(s); nothing was stored")
        self.errors = tuple(errors)


class VersionMismatch(RulesAdminError):
    """The caller's version (If-Match) is not the stored one: someone changed the rule set."""

    def __init__(self, ruleset: str, *, expected: int, actual: int) -> None:
        super().__init__(f"rule set {ruleset!r} is at version {actual}, not {expected}; reload it and retry")
        self.ruleset = ruleset
        self.expected = expected
        self.actual = actual


class PushRefused(RequestInvalid):
    """A push that would empty the rule set, or remove rules without ``prune``; nothing was stored.

    ``removed``: the stored rule ids the push would have removed.
    """

    def __init__(self, message: str, *, removed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.removed = tuple(removed)


class VersionNotFound(RulesAdminError):
    """The asked-for version of the rule set was never stored."""

    def __init__(self, ruleset: str, version: int, newest: int) -> None:
        stored = f"versions 1-{newest} are stored"
        stored = {0: "no version is stored", 1: "only version 1 is stored"}.get(newest, stored)
        super().__init__(f"rule set {ruleset!r} has no version {version}; {stored}")
        self.ruleset = ruleset
        self.version = version
        self.newest = newest


class ServiceMisconfigured(RulesAdminError):
    """A setting the request needs is invalid; the message names the setting to fix."""
