"""A seeded benchmark rule set: N rules shaped like real trigger rules, ~5% of events matching.

Most rules are keyed on one O365 type (workload + operation, drawn by event frequency so busy types
get more rules, as they do in practice) and narrowed by an *audience* (tenants, users, a mail
domain) plus one or two extra predicates that fit the workload. The audience values come from a
sample of the same seeded event stream, padded with absent values (tenants/users that exist but
are not in this stream) so that the expected number of active audience members per rule is
``AUDIENCE_BUDGET / N``: the match rate then stays ~5% from 100 to 10,000 rules.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from squall.synthetic import OPERATIONS, generate_o365_records

#: Records sampled from the event stream to learn its tenants, users and domains.
AUDIENCE_SAMPLE = 5_000
#: Expected active audience members summed over all rules, per template (tuned for ~5% matches).
AUDIENCE_BUDGET = {"tenant": 93.0, "users": 205.0, "domain": 40.0, "prefix": 7.0, "keyed": 30.0}
#: Share of each rule shape in the set (documented in docs/performance.md).
TEMPLATE_WEIGHTS = (("tenant", 50), ("users", 15), ("keyed", 15), ("domain", 12), ("prefix", 8))
#: With ``stateful=True``, this share of rules has a cool-down (reads and writes entity state).
STATEFUL_SHARE = 0.2
STATEFUL_COOLDOWN = "PT1H"

_TYPE_WEIGHTS = list(accumulate(op.weight for op in OPERATIONS))
_TEMPLATE_CUMULATIVE = list(accumulate(weight for _, weight in TEMPLATE_WEIGHTS))
_IPV4 = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


@dataclass(frozen=True, slots=True)
class Audience:
    """Distinct values seen in the stream sample (active) and how to make plausible absent ones."""

    tenants: tuple[str, ...]
    users: tuple[str, ...]
    domains: tuple[str, ...]


def sample_audience(*, event_seed: int, sample: int = AUDIENCE_SAMPLE) -> Audience:
    """Tenants, users and mail domains of the first ``sample`` records of the seeded stream."""
    tenants: dict[str, None] = {}
    users: dict[str, None] = {}
    for record in generate_o365_records(sample, seed=event_seed):
        tenants[record["OrganizationId"]] = None
        users[record["UserId"]] = None
    domains = {user.partition("@")[2]: None for user in users if "@" in user}
    return Audience(tuple(tenants), tuple(users), tuple(domains))


def generate_rules(
    count: int, *, seed: int = 0, stateful: bool = False, audience: Audience | None = None
) -> list[dict[str, Any]]:
    """``count`` raw rule definitions (as a user would write them); the same arguments give the same rules."""
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = random.Random(f"squall-bench-rules-{seed}")
    audience = audience or sample_audience(event_seed=seed)
    builder = _RuleBuilder(rng, audience, count)
    rules = []
    for index in range(count):
        (template,) = rng.choices([name for name, _ in TEMPLATE_WEIGHTS], cum_weights=_TEMPLATE_CUMULATIVE)
        rule = builder.build(template, index)
        if stateful and rng.random() < STATEFUL_SHARE:
            rule["cooldown"] = STATEFUL_COOLDOWN
        rules.append(rule)
    return rules


class _RuleBuilder:
    def __init__(self, rng: random.Random, audience: Audience, count: int) -> None:
        self._rng = rng
        self._audience = audience
        self._count = max(count, 1)

    def build(self, template: str, index: int) -> dict[str, Any]:
        rng = self._rng
        operation = rng.choices(OPERATIONS, cum_weights=_TYPE_WEIGHTS)[0]
        event_type = f"{operation.workload}/{operation.name}"
        types = [event_type]
        if template == "tenant":
            audience = _leaf("tenant", "in", self._pick("tenant", self._audience.tenants, _absent_tenant))
        elif template == "users":
            audience = _leaf("entity", "in", self._pick("users", self._audience.users, _absent_user, at_most=20))
        elif template == "domain":
            domains = self._pick("domain", self._audience.domains, _absent_domain)
            audience = _leaf("entity", "ends_with", [f"@{domain}" for domain in domains])
        elif template == "prefix":
            types = [f"{operation.workload}/*"]
            audience = _leaf("tenant", "in", self._pick("prefix", self._audience.tenants, _absent_tenant))
        else:  # "keyed": workload + operation tested in the condition, no `when.types`
            types = []
            tenants = self._pick("keyed", self._audience.tenants, _absent_tenant)
            audience = {
                "all": [
                    _leaf("attributes.workload", "eq", operation.workload),
                    _leaf("attributes.operation", "eq", operation.name),
                    _leaf("tenant", "in", tenants),
                ]
            }
        extras = _extra_predicates(rng, operation.workload, rng.randint(1, 2))
        parts = audience.get("all", [audience]) + extras
        rng.shuffle(parts)
        rule: dict[str, Any] = {
            "id": f"bench-{template}-{index:05d}",
            "priority": rng.randint(0, 9),
            "when": {"source": "o365", "types": types} if types else {"source": "o365"},
            "condition": {"all": parts},
            "action": {"kind": "journey_entry", "event_definition_key": f"APIEvent-bench-{index % 50:02d}"},
        }
        return rule

    def _pick(self, template: str, active: tuple[str, ...], absent: Any, at_most: int = 8) -> list[str]:
        """Audience values: ``AUDIENCE_BUDGET[template] / N`` active members expected per rule."""
        rng = self._rng
        share = dict(TEMPLATE_WEIGHTS)[template] / _TEMPLATE_CUMULATIVE[-1]
        expected = AUDIENCE_BUDGET[template] / (self._count * share)
        size = max(1, min(at_most, math.ceil(expected)))
        active_chance = min(1.0, expected / size)
        return [rng.choice(active) if rng.random() < active_chance else absent(rng) for _ in range(size)]


def _leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _absent_tenant(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{text[16:20]}-{text[20:]}"


def _absent_user(rng: random.Random) -> str:
    return f"user{rng.getrandbits(32):08x}@absent{rng.randint(1, 99_999)}.example"


def _absent_domain(rng: random.Random) -> str:
    return f"absent{rng.getrandbits(24):06x}.onmicrosoft.com"


def _extra_predicates(rng: random.Random, workload: str, count: int) -> list[dict[str, Any]]:
    """One or two predicates that fit the workload's fields (most pass, some do not)."""
    pool = [
        _leaf("attributes.client_ip", "exists", True),
        _leaf("attributes.user_type", "in", ["regular", "admin"]),
        _leaf("attributes.RecordType", "ge", rng.choice((1, 4, 6))),
        _leaf("attributes.client_ip", "matches", _IPV4),
        {"not": _leaf("attributes.ClientIP", "starts_with", "ffff:")},
    ]
    if workload in ("SharePoint", "OneDrive"):
        pool.append(_leaf("attributes.SourceFileExtension", "in", rng.sample(("docx", "xlsx", "pptx", "pdf"), 3)))
        pool.append(_leaf("attributes.UserAgent", "contains", "Windows"))
    elif workload == "MicrosoftTeams":
        pool.append(_leaf("attributes.CommunicationType", "in", ["Team", "OneOnOne"]))
    elif workload in ("Exchange", "AzureActiveDirectory"):
        pool.append(_leaf("attributes.result_status", "ne", "failed"))
    return rng.sample(pool, count)
