"""The optional compiled copy of the normalization hot path, and when it is used.

When the package is built with Cython available (``pip install -e .``, ``make``), setup.py compiles a
copy of ``shared/events/normalize.py`` as ``shared.events._normalize_compiled`` and stamps it with the
SHA-256 of the source it was built from (``SOURCE_SHA256``). The same code, compiled: no second
implementation to keep in step. ``normalize.py`` asks ``compiled_copy`` for it and uses it only if:

- ``SQUALL_PURE_PYTHON`` is not set to a true value (``1``, ``true``, ``yes``, ``on``);
- it imports (a build without Cython or a C compiler installs the pure-Python package only);
- its stamp equals the current source's digest: a copy built from another version of normalize.py
  is ignored with a warning, so an edited source is never shadowed by stale compiled code.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

#: The reference module, and the name its compiled copy is built under (setup.py).
REFERENCE_MODULE = "shared.events.normalize"
COMPILED_MODULE = "shared.events._normalize_compiled"
#: Set to 1/true/yes/on to run the pure-Python code even when the compiled copy is installed.
PURE_PYTHON_ENV = "SQUALL_PURE_PYTHON"
_TRUE = frozenset({"1", "true", "yes", "on"})


def pure_python_requested(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Whether ``SQUALL_PURE_PYTHON`` asks for the pure-Python code."""
    return environ.get(PURE_PYTHON_ENV, "").strip().lower() in _TRUE


def source_digest(source_file: str | Path) -> str | None:
    """SHA-256 of a module's source file (what setup.py stamps on the copy), or ``None`` if unreadable."""
    try:
        return hashlib.sha256(Path(source_file).read_bytes()).hexdigest()
    except OSError:
        return None


def compiled_copy(module_name: str, source_file: str | None) -> ModuleType | None:
    """The compiled copy of the reference module, when it may be used (see the module docstring).

    Called by the reference module at import with its own ``__name__`` and ``__file__``; the copy runs
    the same line under its own name and gets ``None`` (it never loads itself).
    """
    if module_name != REFERENCE_MODULE or source_file is None or pure_python_requested():
        return None
    try:
        compiled = importlib.import_module(COMPILED_MODULE)
    except ImportError:
        return None
    built_from = getattr(compiled, "SOURCE_SHA256", None)
    if built_from is None or built_from != source_digest(source_file):
        log.warning(
            "%s was built from another version of %s: running the pure-Python code (rebuild: make accel)",
            COMPILED_MODULE,
            Path(source_file).name,
        )
        return None
    return compiled
