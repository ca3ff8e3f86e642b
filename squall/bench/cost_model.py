"""Request units of a Cosmos DB request, from Microsoft's published figures (docs/performance.md, "Cost model").

Sources:
- point read of a 1 KB item = 1 RU: https://learn.microsoft.com/azure/cosmos-db/request-units
- reads and writes by document size (1 KB read 1.00, write 4.95 ... 64 KB read 4.76, write 22.67):
  https://learn.microsoft.com/azure/cosmos-db/understand-request-unit-consumption ("Document size")

What the pages leave open is an assumption, named here and in the docs: a delete (and a TTL expiry)
costs what writing the item costs; a replace costs one write of the new item; a query costs
``QUERY_BASE_RU`` per physical partition it visits plus reading what it returns; the change feed
reads each version it hands over as a point read of that size. The write table is for the default
(index everything) policy, so it overstates Squall's containers, which index two paths each.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

#: (KB, RU) points of the published table; sizes between them are interpolated, beyond the last scaled.
READ_RU = ((1, 1.00), (2, 1.04), (4, 1.14), (8, 1.33), (16, 1.67), (32, 2.19), (64, 4.76), (128, 9.95))
WRITE_RU = ((1, 4.95), (2, 6.29), (4, 6.67), (8, 7.04), (16, 9.52), (32, 11.23), (64, 22.67), (128, 48.19))
#: Assumed charge of a query on one physical partition before it reads anything (see module doc).
QUERY_BASE_RU = 2.5
#: Throughput one physical partition serves (Microsoft: up to 10,000 RU/s each): the fan-out of a
#: cross-partition query at a given provisioned throughput.
RU_PER_PHYSICAL_PARTITION = 10_000


def _by_size(table: tuple[tuple[int, float], ...], size_bytes: int) -> float:
    kb = max(size_bytes, 1) / 1024
    sizes = [size for size, _ in table]
    if kb <= sizes[0]:
        return table[0][1]
    if kb >= sizes[-1]:
        return table[-1][1] * kb / sizes[-1]
    upper = bisect_left(sizes, kb)
    (low_kb, low_ru), (high_kb, high_ru) = table[upper - 1], table[upper]
    return low_ru + (high_ru - low_ru) * (kb - low_kb) / (high_kb - low_kb)


def read_ru(size_bytes: int) -> float:
    return _by_size(READ_RU, size_bytes)


def write_ru(size_bytes: int) -> float:
    return _by_size(WRITE_RU, size_bytes)


def query_ru(returned_bytes: int, *, partitions: int = 1) -> float:
    return QUERY_BASE_RU * partitions + (read_ru(returned_bytes) if returned_bytes > 1024 else 0.0)


def physical_partitions(provisioned_ru_s: float) -> int:
    return max(1, -(-int(provisioned_ru_s) // RU_PER_PHYSICAL_PARTITION))


@dataclass(frozen=True, slots=True)
class Request:
    """One logged request: the launcher's JSON line (method, path, status, bytes, query/batch flags)."""

    method: str
    path: str
    status: int
    request_bytes: int
    response_bytes: int
    query: bool
    batch: bool

    @property
    def container(self) -> str | None:
        parts = self.path.strip("/").split("/")
        return parts[3] if len(parts) >= 5 and parts[2] == "colls" and parts[4] == "docs" else None

    @property
    def kind(self) -> str:
        """read | create | replace | upsert | delete | batch | query | metadata."""
        if self.container is None:
            return "metadata"
        if self.query:
            return "query"
        if self.batch:
            return "batch"
        return {"GET": "read", "POST": "create", "PUT": "replace", "DELETE": "delete"}.get(self.method, "metadata")

    def ru(self, *, fan_out: int = 1) -> float:
        """The modelled charge; ``fan_out`` physical partitions for a query without a partition key."""
        kind = self.kind
        if kind == "metadata" or self.status >= 400 and self.status not in (404, 409, 412):
            return 0.0
        if self.status in (404, 409, 412):
            return 1.0  # not found, or a refused conditional write: charged about a read
        if kind == "read":
            return read_ru(self.response_bytes)
        if kind == "query":
            return query_ru(self.response_bytes, partitions=fan_out)
        return write_ru(self.request_bytes)
