"""Reference models trained and run by lvsbench: a Locater-style memory transformer and a URVOS-style baseline.

`MODELS` maps a model name to its (config class, module class); `build_model(name, config)` instantiates one.
Training is `lvsbench.models.train`, checkpoints are read by `load_checkpoint`, the adapters that `lvsbench run`
uses are in `lvsbench.models.adapters`. torch is needed (the `models` extra).
"""

from __future__ import annotations

from typing import Any

from lvsbench.core.errors import ConfigError, MissingDependencyError, unknown_name

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - torch is in the models extra
    raise MissingDependencyError("torch", "models", "the reference models") from exc

from lvsbench.models.locater import Locater, LocaterConfig
from lvsbench.models.urvos import Urvos, UrvosConfig

MODELS: dict[str, tuple[type, type]] = {
    "locater": (LocaterConfig, Locater),
    "urvos": (UrvosConfig, Urvos),
}


def model_config(name: str, values: dict[str, Any]) -> Any:
    if name not in MODELS:
        raise ConfigError(unknown_name("model", name, sorted(MODELS)))
    return MODELS[name][0].from_dict(values)


def build_model(name: str, config: Any) -> Any:
    """Instantiate model `name` from its config object or a dict of sizes."""
    cfg = config if not isinstance(config, dict) else model_config(name, config)
    return MODELS[name][1](cfg)


__all__ = ["MODELS", "Locater", "LocaterConfig", "Urvos", "UrvosConfig", "build_model", "model_config"]
