"""Freed arrays stay in the process's heap between batches (glibc's ``mallopt``).

Each training batch makes arrays of the same few sizes (a layer's output, its input's
gradient) and frees them at the end of the batch. Above a size threshold (128 kB by
default, raised as big blocks are freed) glibc hands such a block back to the
operating system when it is freed and maps a fresh one for the next batch, whose
pages fault in one by one as NumPy writes them. On the tabular recipe's network (2 MB
arrays) that was about a tenth of an epoch's time.

``keep_freed_arrays()`` raises the thresholds once per process, so a freed block of
up to ``KEEP_BELOW`` bytes is reused by the next batch, and up to ``KEEP_FREE`` bytes
of free heap are kept rather than returned. It does nothing where the C library is not
glibc (``mallopt`` missing), or when ``BARENET_KEEP_HEAP=0`` is set.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
KEEP_BELOW = 32 * 2**20  # glibc's largest allowed mmap threshold on 64-bit systems
KEEP_FREE = 64 * 2**20

_applied: bool | None = None  # None: not tried yet


def keep_freed_arrays() -> bool:
    """Set glibc's thresholds (once per process); whether they are set."""
    global _applied
    if _applied is None:
        _applied = False
        if sys.platform.startswith("linux") and os.environ.get("BARENET_KEEP_HEAP") != "0":
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):  # not glibc (musl has no mallopt)
                return False
            mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
            _applied = bool(mallopt(M_MMAP_THRESHOLD, KEEP_BELOW)) and bool(
                mallopt(M_TRIM_THRESHOLD, KEEP_FREE)
            )
    return _applied
