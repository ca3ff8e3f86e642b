"""A report says why things were dead-lettered: by a stable code, and by the whole reason."""

from __future__ import annotations

from shared.pipeline.report import MAX_FULL_REASONS, OTHER_REASONS, BatchReport

NOT_JSON = "invalid JSON: input ends before the value is complete"
NO_ID = "o365: missing required field 'Id'"
NOT_TEXT = "o365: field 'UserId' must be a string, got number"


def test_a_reason_is_counted_by_its_code_and_in_full() -> None:
    report = BatchReport()
    for reason in (NOT_JSON, NO_ID, NOT_TEXT, NO_ID):
        report.count_reason(reason)
    assert report.dead_letter_reasons == {"invalid JSON": 1, "o365": 3}
    assert report.dead_letter_reasons_full == {NOT_JSON: 1, NO_ID: 2, NOT_TEXT: 1}
    assert report.as_dict()["dead_letter_reasons_full"] == {NOT_JSON: 1, NO_ID: 2, NOT_TEXT: 1}


def test_reports_summed_over_batches_add_up_full_reasons() -> None:
    first, second = BatchReport(), BatchReport()
    first.count_reason(NO_ID)
    second.count_reason(NO_ID)
    second.count_reason(NOT_JSON)
    first += second
    assert first.dead_letter_reasons_full == {NO_ID: 2, NOT_JSON: 1}


def test_full_reasons_beyond_the_limit_are_counted_together() -> None:
    # GIVEN reasons that each name their event (distinct per event), in two batches
    first, second = BatchReport(), BatchReport()
    for number in range(MAX_FULL_REASONS + 5):
        (first if number % 2 else second).count_reason(f"event time ahead of enqueued time: event e{number} ...")
    # WHEN the batches are summed
    first += second
    # THEN at most MAX_FULL_REASONS reasons are kept, the rest counted under OTHER_REASONS, none lost
    full = first.dead_letter_reasons_full
    assert len(full) == MAX_FULL_REASONS + 1 and OTHER_REASONS in full
    assert sum(full.values()) == MAX_FULL_REASONS + 5 == first.dead_letter_reasons["event time ahead of enqueued time"]
