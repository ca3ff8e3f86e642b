"""Synthetic Office 365 Management Activity records: seeded, deterministic, realistic, fast.

Real field names and real quirks: zone-less ``CreationTime``, ``ResultStatus`` spelled per workload
("Succeeded", "Success", "failed", "True", or absent), ``ClientIP`` sometimes missing, empty, with a
port or malformed, RecordType values outside the documented enum. Thousands of users in hundreds of
tenants with Zipf-like activity, ~25 operations with realistic frequencies, times non-decreasing.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

import msgspec

DEFAULT_START = datetime(2024, 1, 8, 8, 0, tzinfo=UTC)
USER_COUNT = 5000
TENANT_COUNT = 300
_CHUNK = 1024


@dataclass(frozen=True, slots=True)
class Operation:
    workload: str
    name: str
    record_type: int
    weight: float
    statuses: tuple[str | None, ...] = (None,)  # ResultStatus spellings; None: field absent
    user_type: int = 0


OPERATIONS: tuple[Operation, ...] = (
    Operation("MicrosoftTeams", "TeamsSessionStarted", 25, 14),
    Operation("MicrosoftTeams", "MessageSent", 25, 10),
    Operation("MicrosoftTeams", "MeetingParticipantDetail", 25, 6),
    Operation("MicrosoftTeams", "MemberAdded", 25, 1.5),
    Operation("MicrosoftTeams", "ChannelAdded", 25, 0.6),
    Operation("MicrosoftTeams", "TeamCreated", 25, 0.4, user_type=5),
    Operation("SharePoint", "FileAccessed", 6, 12),
    Operation("SharePoint", "FileModified", 6, 4),
    Operation("SharePoint", "FileDownloaded", 6, 3),
    Operation("SharePoint", "PageViewed", 4, 6),
    Operation("SharePoint", "SharingSet", 14, 1),
    Operation("SharePoint", "AnonymousLinkCreated", 14, 0.6),
    Operation("OneDrive", "FileAccessed", 6, 5),
    Operation("OneDrive", "FileUploaded", 6, 4),
    Operation("OneDrive", "FileDownloaded", 6, 2.5),
    Operation("OneDrive", "FileDeleted", 6, 0.8),
    Operation("Exchange", "MailItemsAccessed", 50, 10, ("Succeeded",)),
    Operation("Exchange", "Send", 2, 3, ("Succeeded", "PartiallySucceeded")),
    Operation("Exchange", "MoveToDeletedItems", 2, 1.5, ("Succeeded",)),
    Operation("Exchange", "Set-Mailbox", 1, 0.2, ("True",), user_type=2),
    Operation("Exchange", "MessageAccess", 154, 0.2, ("Success", "Failure")),  # RecordType not in the enum
    Operation("AzureActiveDirectory", "UserLoggedIn", 15, 8, ("Success", "Succeeded")),
    Operation("AzureActiveDirectory", "UserLoginFailed", 15, 1.5, ("Failed", "failed")),
    Operation("AzureActiveDirectory", "Add user.", 8, 0.1, ("Success",), user_type=2),
    Operation("Copilot", "CopilotInteraction", 261, 2.5),
    Operation("MicrosoftForms", "CreateForm", 66, 0.2),
    Operation("PowerBI", "ViewReport", 20, 0.8),
)
_OPERATION_WEIGHTS = list(accumulate(op.weight for op in OPERATIONS))

# (kind, weight): how ClientIP looks on a record.
_IP_KINDS = (("v4", 82), ("v6", 5), ("v4_port", 3), ("v6_port", 1), ("missing", 5), ("empty", 2), ("bad", 2))
_IP_WEIGHTS = list(accumulate(weight for _, weight in _IP_KINDS))
_IPV4_OCTETS = ((20, 223), (0, 255), (0, 255), (1, 254))
_GAPS = (0, 0, 0, 0, 1, 1, 2, 3)  # seconds between consecutive records
# fmt: off
_FIRST = ("ana", "ben", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jun", "kofi", "lea",
          "mateo", "nia", "omar", "priya", "quinn", "rosa", "sven", "tala", "uma", "viktor", "wen", "yara")
_LAST = ("adams", "berg", "costa", "diaz", "evans", "fischer", "garcia", "haddad", "ito", "jensen", "kim",
         "lopez", "moreau", "novak", "okafor", "patel", "rossi", "silva", "tanaka", "weber")
_ORG_WORDS = ("north", "blue", "river", "cedar", "apex", "lumen", "harbor", "stone", "orbit", "maple",
              "zenith", "delta", "prairie", "coral", "summit", "ember")
# fmt: on
_APP_HOSTS = ("Word", "Teams", "Outlook", "Excel", "PowerPoint", "Bizchat")
_EXTENSIONS = ("docx", "xlsx", "pptx", "pdf", "png", "txt")
_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"


@dataclass(frozen=True, slots=True)
class User:
    upn: str
    tenant_id: str
    domain: str
    puid: str
    ipv4: str
    ipv6: str


def generate_o365_records(count: int, *, seed: int = 0, start: datetime | None = None) -> Iterator[dict[str, Any]]:
    """``count`` O365 audit records as decoded JSON objects; the same seed gives the same records."""
    if start is not None and start.tzinfo is None:
        raise ValueError("start must be timezone-aware (e.g. datetime(2024, 1, 1, tzinfo=UTC))")
    users, user_weights, after = _population(seed)
    rng = random.Random()
    rng.setstate(after)
    clock = _Clock(start or DEFAULT_START)
    remaining = count
    while remaining > 0:
        size = min(_CHUNK, remaining)
        remaining -= size
        chunk = zip(
            rng.choices(users, cum_weights=user_weights, k=size),
            rng.choices(OPERATIONS, cum_weights=_OPERATION_WEIGHTS, k=size),
            rng.choices(_IP_KINDS, cum_weights=_IP_WEIGHTS, k=size),
            rng.choices(_GAPS, k=size),
            strict=True,
        )
        for user, operation, (ip_kind, _), gap in chunk:
            yield _record(rng, user, operation, ip_kind, clock.tick(gap))


def most_active_user(seed: int = 0) -> str:
    """The ``UserId`` the records of ``seed`` carry most often (``squall demo`` suppresses it)."""
    users, cumulative, _ = _population(seed)
    weights = [high - low for low, high in zip([0.0, *cumulative], cumulative, strict=False)]
    return users[max(range(len(weights)), key=weights.__getitem__)].upn


def generate_o365_bytes(count: int, *, seed: int = 0, start: datetime | None = None) -> Iterator[bytes]:
    """The same records as compact JSON bytes, as they would sit in an Event Hub message body."""
    encode = msgspec.json.Encoder().encode
    for record in generate_o365_records(count, seed=seed, start=start):
        yield encode(record)


class _Clock:
    """Non-decreasing zone-less UTC text, re-formatted only when the second changes."""

    def __init__(self, start: datetime) -> None:
        self._moment = start.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        self._text = self._moment.isoformat()

    def tick(self, seconds: int) -> str:
        """The current time text, then move on by ``seconds``."""
        text = self._text
        if seconds:
            self._moment += timedelta(seconds=seconds)
            self._text = self._moment.isoformat()
        return text


def _guid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{text[16:20]}-{text[20:]}"


@functools.lru_cache(maxsize=8)
def _population(seed: int) -> tuple[tuple[User, ...], tuple[float, ...], tuple[Any, ...]]:
    """The users of ``seed`` and the generator's state after drawing them, built once per seed
    (~0.1 s: tests draw records of the same few seeds again and again)."""
    rng = random.Random(seed)
    users, weights = _build_users(rng)
    return tuple(users), tuple(weights), rng.getstate()


def _build_users(rng: random.Random) -> tuple[list[User], list[float]]:
    """Tenants of Zipf-like sizes, users with Zipf-like activity (weights are cumulative)."""
    tenants = [
        (_guid(rng), f"{rng.choice(_ORG_WORDS)}{rng.choice(_ORG_WORDS)}{index}.onmicrosoft.com")
        for index in range(TENANT_COUNT)
    ]
    tenant_weights = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(TENANT_COUNT)))
    users = []
    for index in range(USER_COUNT):
        tenant_id, domain = (
            tenants[index] if index < TENANT_COUNT else rng.choices(tenants, cum_weights=tenant_weights)[0]
        )
        name = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{index}"
        users.append(
            User(
                upn=f"{name}@{domain}",
                tenant_id=tenant_id,
                domain=domain,
                puid=f"{rng.getrandbits(64):016X}",
                ipv4=".".join(str(rng.randint(low, high)) for low, high in _IPV4_OCTETS),
                ipv6=f"2001:db8:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}",
            )
        )
    order = list(range(USER_COUNT))
    rng.shuffle(order)  # activity rank independent of tenant order
    weights = [0.0] * USER_COUNT
    for rank, index in enumerate(order):
        weights[index] = 1 / (rank + 1)
    return users, list(accumulate(weights))


def _client_ip(user: User, kind: str, rng: random.Random) -> str | None:
    if kind == "v4":
        return user.ipv4
    if kind == "v6":
        return user.ipv6
    if kind == "v4_port":
        return f"{user.ipv4}:{rng.randint(1024, 65535)}"
    if kind == "v6_port":
        return f"[{user.ipv6}]:443"
    if kind == "empty":
        return ""
    if kind == "bad":
        return f"ffff:{user.ipv4}"
    return None


def _record(rng: random.Random, user: User, operation: Operation, ip_kind: str, time: str) -> dict[str, Any]:
    user_id = "Application" if operation.user_type == 5 else user.upn
    record: dict[str, Any] = {
        "CreationTime": time,
        "Id": _guid(rng),
        "Operation": operation.name,
        "OrganizationId": user.tenant_id,
        "RecordType": operation.record_type,
        "UserKey": "" if operation.user_type == 5 else _user_key(user, operation.workload),
        "UserType": operation.user_type,
        "Version": 1,
        "Workload": operation.workload,
        "UserId": user_id,
    }
    status = operation.statuses[0] if len(operation.statuses) == 1 else rng.choice(operation.statuses)
    if status is not None:
        record["ResultStatus"] = status
    client_ip = _client_ip(user, ip_kind, rng)
    if client_ip is not None:
        record["ClientIP"] = client_ip
    record.update(_workload_fields(rng, user, operation))
    return record


def _user_key(user: User, workload: str) -> str:
    if workload in ("SharePoint", "OneDrive"):
        return f"i:0h.f|membership|{user.puid.lower()}@live.com"
    return f"{user.puid}@{user.domain}" if workload == "AzureActiveDirectory" else user.puid


def _workload_fields(rng: random.Random, user: User, operation: Operation) -> dict[str, Any]:
    workload = operation.workload
    if workload in ("SharePoint", "OneDrive"):
        extension = rng.choice(_EXTENSIONS)
        site = f"https://{user.domain.split('.')[0]}.sharepoint.com/sites/team{rng.randint(1, 9)}"
        file_name = f"doc{rng.randint(1, 500)}.{extension}"
        return {
            "EventSource": "SharePoint",
            "ItemType": "File",
            "SiteUrl": site,
            "SourceFileName": file_name,
            "SourceFileExtension": extension,
            "ObjectId": f"{site}/Shared Documents/{file_name}",
            "UserAgent": _USER_AGENT,
        }
    if workload == "MicrosoftTeams":
        return {
            "TeamName": f"Team {rng.randint(1, 40)}",
            "CommunicationType": rng.choice(("Team", "OneOnOne")),
        }
    if workload == "Exchange":
        return {"MailboxOwnerUPN": user.upn, "LogonType": 0, "ExternalAccess": False}
    if workload == "AzureActiveDirectory":
        return {
            "ObjectId": user.upn,
            "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [{"Name": "UserAgent", "Value": _USER_AGENT}],
        }
    if workload == "Copilot":
        return {"CopilotEventData": {"AppHost": rng.choice(_APP_HOSTS), "Contexts": [], "Messages": []}}
    return {"ObjectId": f"{operation.name.lower()}-{rng.randint(1, 99)}"}
