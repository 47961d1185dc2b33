"""Readers of the four datasets' native layouts and of our own layout, behind one `Dataset` interface."""

from lvsbench.datasets.base import Dataset

__all__ = ["Dataset"]
