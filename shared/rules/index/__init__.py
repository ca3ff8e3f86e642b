"""Candidate selection: which rules can match an event, by lookups; never imports engine/."""
