"""Model adapters: the protocol a model implements to be run by `lvsbench run`, and the adapter registry.

The protocol lives in `lvsbench.adapters.base`; built-in adapters (bound adapters in `bound`, external checkouts in
`external`) and plug-ins from installed packages (entry-point group `lvsbench.adapters`) are found through
`lvsbench.adapters.registry`. Importing this package imports neither torch nor any adapter implementation.
"""

from lvsbench.adapters.base import (
    Adapter,
    Capabilities,
    Clip,
    NoOptions,
    Prediction,
    Query,
    SetupContext,
    VideoHandle,
)

__all__ = ["Adapter", "Capabilities", "Clip", "NoOptions", "Prediction", "Query", "SetupContext", "VideoHandle"]
