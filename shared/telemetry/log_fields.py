"""Transitional alias of ``shared.log_fields`` (the leaf module) for ``shared/rules/cache.py`` until its import moves.

Remove once nothing imports ``shared.telemetry.log_fields`` (tests/unit/test_import_direction.py lists it).
"""

from __future__ import annotations

from shared.log_fields import BatchLogFields, batch_log_fields, log_ids

__all__ = ["BatchLogFields", "batch_log_fields", "log_ids"]
