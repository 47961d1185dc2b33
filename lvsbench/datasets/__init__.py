"""Readers of the four RVOS datasets' native layouts, DAVIS 2016/2017, and our own layout, behind one `Dataset`
interface.

`load(name, root, split=None, **options)` opens one: "a2d", "jhmdb", "ryvos", "rdavis", "davis", "layout", or any name
whose root is in the lvsbench layout. `DATASETS` describes the native ones; `resolve_root` finds a root from the
environment or the user config file.
"""

from lvsbench.datasets.base import Dataset
from lvsbench.datasets.registry import DATASETS, DatasetSpec, load, resolve_root

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "load", "resolve_root"]
