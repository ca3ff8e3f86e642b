"""Squall developer tooling: the ``squall`` CLI, local runtime, Marketing Cloud stub, generators.

Not deployed to Azure (see ``.funcignore``).
"""
