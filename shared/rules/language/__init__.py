"""The rule language's atoms: field paths, typed operands, the operator table, durations, times, templates."""
