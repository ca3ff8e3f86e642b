"""Squall's deployable core: normalize events, evaluate rules, plan and deliver actions.

Nothing in this package imports ``azure.functions``, ``functions`` or ``squall``.
"""
