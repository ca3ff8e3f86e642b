"""The names Squall's telemetry is queried by: metrics, their dimensions, span and log fields.

Renaming one breaks dashboards and alerts, so they live here, once, and docs/observability.md
lists them.
"""

from __future__ import annotations

from typing import Final

# The log record fields live in the leaf module shared/log_fields.py; re-exported here so the names
# Squall's telemetry is queried by are all reachable from this one module.
from shared.log_fields import ACTION_KEY as ACTION_KEY
from shared.log_fields import EVENT_ID as EVENT_ID
from shared.log_fields import LOG_FIELDS as LOG_FIELDS
from shared.log_fields import OUTCOME as OUTCOME
from shared.log_fields import PARTITION as PARTITION
from shared.log_fields import RULE_ID as RULE_ID
from shared.log_fields import SEQUENCE_NUMBER as SEQUENCE_NUMBER

# --- Instrumentation scope (the meter and tracer name) ---------------------------------------------
SCOPE: Final = "squall"

# --- Metrics -------------------------------------------------------------------------------------
EVENTS: Final = "squall.events"  # counter {outcome}: normalized | dead_lettered | duplicate
RULE_MATCHES: Final = "squall.rule_matches"  # counter {rule_id}
ACTIONS: Final = "squall.actions"  # counter {outcome}: delivered | failed | skipped_duplicate | dead_lettered
BATCH_DURATION: Final = "squall.batch.duration"  # histogram, seconds {trigger}
DELIVERY_ATTEMPTS: Final = "squall.delivery.attempts"  # histogram, attempts per settled action {outcome}
DELIVERY_RETRIES: Final = "squall.delivery.retries"  # counter, attempts beyond the first {outcome}
OUTBOX_BACKLOG: Final = "squall.outbox.backlog"  # gauge {action}: entries waiting for delivery
OUTBOX_BACKLOG_AGE: Final = "squall.outbox.backlog_age"  # gauge, seconds: age of the oldest waiting entry
DELIVERY_DURATION: Final = "squall.delivery.duration"  # histogram, seconds per deliver() call {outcome}
INGEST_LAG: Final = "squall.ingest.lag"  # gauge, seconds {partition}: now - newest enqueued time of a batch
RULE_FIRINGS: Final = "squall.rule.firings"  # counter {rule_id, mode}: matches of live and shadow rules

# --- Metric dimensions ---------------------------------------------------------------------------
# OUTCOME (outcome): shared/log_fields.py, a log field of the delivery audit and a metric dimension
# RULE_ID and PARTITION: shared/log_fields.py (log fields and metric dimensions alike)
MODE: Final = "mode"  # live | shadow (a rule's mode)
TRIGGER: Final = "trigger"  # event_hub | outbox_retry
FAILURE: Final = "failure"  # FailureKind of a failed delivery (transient, throttled, permanent...)

# --- Spans ---------------------------------------------------------------------------------------
BATCH_SPAN: Final = "squall.process_batch"
OUTBOX_RETRY_SPAN: Final = "squall.retry_outbox"
OUTBOX_RELAY_SPAN: Final = "squall.relay_outbox"
# Application Insights drops ``messaging.*`` attributes from request custom dimensions, so the
# partition and size are also set under Squall's own names.
SPAN_PARTITION: Final = "squall.partition"
SPAN_BATCH_SIZE: Final = "squall.batch.size"
SEQUENCE_FIRST: Final = "squall.sequence_number.first"
SEQUENCE_LAST: Final = "squall.sequence_number.last"
BATCH_SIZE: Final = "messaging.batch.message_count"  # OpenTelemetry messaging semantic conventions
PARTITION_ID: Final = "messaging.destination.partition.id"
MESSAGING_SYSTEM: Final = "messaging.system"
