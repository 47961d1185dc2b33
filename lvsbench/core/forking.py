"""Forking worker pools next to OpenCV.

OpenCV keeps a thread pool. A process forked after that pool has run inherits its condition variables with waiters
(threads) that do not exist in the child, and `cv2.setNumThreads` in the child then waits for them forever: worker
pools that set OpenCV to one thread in their initializer hung whenever the parent had already run OpenCV on several
threads (a notebook that resized an image, a test run, a scorer used twice). The parent switches OpenCV to one thread
while it forks instead, so the workers inherit a sequential OpenCV and never touch the pool, and restores its own
setting afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """OpenCV on one thread inside the block (fork worker pools here), the caller's thread count after it."""
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


__all__ = ["opencv_single_threaded"]
