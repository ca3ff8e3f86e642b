"""Build hook for the optional compiled copy of the normalization hot path.

Everything else about the package is in pyproject.toml. With Cython available (it is a build
requirement there), this compiles a copy of ``shared/events/normalize.py`` as
``shared.events._normalize_compiled``, stamped with the SHA-256 of the source it came from (see
``shared/events/accelerator.py``, which decides whether to use it). The extension is optional: without
Cython, without a C compiler, or with ``SQUALL_PURE_PYTHON=1``, Squall installs as pure Python.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from setuptools import Extension, setup

SOURCE = Path("shared/events/normalize.py")
COMPILED_MODULE = "shared.events._normalize_compiled"
#: Where the stamped copy and Cython's C file are written (under build/, which git ignores).
WORK_DIR = Path("build/accelerator")
DIRECTIVES = {"language_level": 3, "annotation_typing": True, "binding": True, "embedsignature": True}


def compiled_extensions() -> list[Extension]:
    if os.environ.get("SQUALL_PURE_PYTHON", "").strip().lower() in {"1", "true", "yes", "on"}:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    source = SOURCE.read_bytes()
    stamped = source + f'\n\nSOURCE_SHA256 = "{hashlib.sha256(source).hexdigest()}"\n'.encode()
    copy = WORK_DIR / "_normalize_compiled.py"
    copy.parent.mkdir(parents=True, exist_ok=True)
    if not copy.exists() or copy.read_bytes() != stamped:  # unchanged copy: Cython skips the rebuild
        copy.write_bytes(stamped)
    extension = Extension(COMPILED_MODULE, [str(copy)], optional=True)
    return cythonize([extension], compiler_directives=DIRECTIVES, quiet=True)


setup(ext_modules=compiled_extensions())
