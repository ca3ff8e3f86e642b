"""Run time without state: condition trees compiled into closures, once per rule-set version."""
