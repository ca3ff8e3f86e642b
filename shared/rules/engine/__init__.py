"""Compile once, evaluate per event, fire on time."""
