"""Run time with state: one module per pattern, and the one owner of the entity-state layout."""
