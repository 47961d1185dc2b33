"""Offline and Python 3.11 / torch 2.x / transformers 5 compatibility patches for external RVOS checkouts.

Applied inside the worker process (`lvsbench.adapters.worker`) before any module of the user's checkout is
imported, by monkeypatching libraries and `sys.modules`; the checkout itself is never edited (`docs/adapters.md`):

- `from collections import Iterable` (Locater `utils/transforms.py`, LBDT): `collections.<ABC>` aliases of
  `collections.abc`.
- `np.float` / `np.int` / `np.bool` / `np.object` (removed in NumPy 1.24): aliases to the builtins.
- hub downloads at construction (`RobertaModel.from_pretrained('roberta-base')`, Locater's
  `AutoTokenizer.from_pretrained('bert-base-uncased')`): `HF_HUB_OFFLINE=1`, and `from_pretrained` of models,
  tokenizers, configs and Auto classes redirected to `text_encoder_dir` with `local_files_only=True`.
- `tokenizer.batch_encode_plus` (removed in transformers 5; MTTR, ReferFormer): a shim calling `tokenizer(...)`.
- `import MultiScaleDeformableAttention` (ReferFormer family): a `sys.modules` stand-in
  (`lvsbench.adapters.msda`) when the op is not built.
- torchvision / torch.hub weight downloads (`pretrained=True` backbones): `torch.hub.load_state_dict_from_url`
  serves `backbone_weights` or fails with a clear message.

Each `apply_*` returns notes recorded in run.json (`adapter.info.patches`).
"""

from __future__ import annotations

import collections
import collections.abc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ABC_NAMES = ("Iterable", "Iterator", "Mapping", "MutableMapping", "Sequence", "MutableSequence", "Callable",
              "Set", "MutableSet", "Hashable", "Sized", "Container", "Generator", "Awaitable")
def apply_collections_aliases() -> list[str]:
    added = []
    for name in _ABC_NAMES:
        if not hasattr(collections, name) and hasattr(collections.abc, name):
            setattr(collections, name, getattr(collections.abc, name))
            added.append(name)
    return [f"collections.{{{', '.join(added)}}} -> collections.abc"] if added else []


def apply_numpy_aliases() -> list[str]:
    import warnings

    import numpy as np

    added = []
    for name, value in (("float", float), ("int", int), ("bool", bool), ("object", object), ("complex", complex),
                        ("str", str)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            present = name in np.__dict__
        if not present:
            setattr(np, name, value)
            added.append(name)
    return [f"numpy.{{{', '.join(added)}}} -> builtins"] if added else []


def _redirect(name_or_path: Any, local_dir: Path | None) -> Any:
    s = str(name_or_path)
    if Path(s).exists():
        return name_or_path
    if local_dir is None:
        raise OSError(f"lvsbench offline mode: {s!r} is a hub id and no local copy was given; pass "
                      "--option text_encoder_dir=DIR (a local snapshot of that model: config.json, weights, "
                      "tokenizer files)")
    return str(local_dir)


def _wrap_from_pretrained(cls: Any, local_dir: Path | None, log: list[str]) -> None:
    owner = next((c for c in cls.__mro__ if "from_pretrained" in c.__dict__), None)
    if owner is None:
        return
    cls = owner
    original = cls.__dict__["from_pretrained"]
    if getattr(getattr(original, "__func__", original), "_lvsbench_patched", False):
        return
    func: Callable[..., Any] = original.__func__ if isinstance(original, classmethod) else original

    def from_pretrained(klass: Any, pretrained_model_name_or_path: Any, *args: Any, **kwargs: Any) -> Any:
        target = _redirect(pretrained_model_name_or_path, local_dir)
        if target != pretrained_model_name_or_path:
            log.append(f"{klass.__name__}.from_pretrained({pretrained_model_name_or_path!r}) -> {target}")
        kwargs["local_files_only"] = True
        return func(klass, target, *args, **kwargs)

    from_pretrained._lvsbench_patched = True  # type: ignore[attr-defined]
    cls.from_pretrained = classmethod(from_pretrained)


class _PostImportHook:
    """Runs callbacks right after a module is first imported, so a patch costs nothing when the checkout never
    imports what it patches (transformers' modeling code takes seconds to import)."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[[Any], None]]] = {}

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.callbacks:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        callbacks = self.callbacks.pop(fullname)
        original = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            for cb in callbacks:
                cb(module)

        spec.loader.exec_module = exec_module
        return spec

    def when_imported(self, name: str, callback: Callable[[Any], None]) -> None:
        if name in sys.modules:
            callback(sys.modules[name])
        else:
            self.callbacks.setdefault(name, []).append(callback)


_HOOK = _PostImportHook()


def when_imported(name: str, callback: Callable[[Any], None]) -> None:
    """Call `callback(module)` once `name` is imported (now, if it already is)."""
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)  # type: ignore[arg-type]
    _HOOK.when_imported(name, callback)


def apply_transformers_offline(text_encoder_dir: str | Path | None, log: list[str]) -> list[str]:
    """Offline hub, `from_pretrained` redirects and the `batch_encode_plus` shim, each applied when the module that
    defines the class is imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    local = Path(text_encoder_dir).expanduser() if text_encoder_dir else None

    def tokenizer_base(mod: Any) -> None:
        base = mod.PreTrainedTokenizerBase
        _wrap_from_pretrained(base, local, log)
        if not hasattr(base, "batch_encode_plus"):
            def batch_encode_plus(self: Any, batch_text_or_text_pairs: Any, *args: Any, **kwargs: Any) -> Any:
                return self(list(batch_text_or_text_pairs), *args, **kwargs)

            base.batch_encode_plus = batch_encode_plus
            log.append("tokenizer.batch_encode_plus -> tokenizer.__call__ (transformers >= 5)")

    when_imported("transformers.tokenization_utils_base", tokenizer_base)
    when_imported("transformers.modeling_utils", lambda m: _wrap_from_pretrained(m.PreTrainedModel, local, log))
    when_imported("transformers.configuration_utils",
                  lambda m: _wrap_from_pretrained(m.PretrainedConfig, local, log))
    when_imported("transformers.models.auto.tokenization_auto",
                  lambda m: _wrap_from_pretrained(m.AutoTokenizer, local, log))
    when_imported("transformers.models.auto.auto_factory",
                  lambda m: _wrap_from_pretrained(m._BaseAutoModelClass, local, log))
    return ["HF_HUB_OFFLINE=1",
            f"from_pretrained(hub id) -> {local if local else '(refused: no text_encoder_dir)'}, local_files_only=True",
            "tokenizer.batch_encode_plus shim where transformers lacks it"]


def apply_torch_hub_offline(backbone_weights: str | Path | None, log: list[str]) -> list[str]:
    """Serve `backbone_weights` for any torch.hub / torchvision weight download, else fail with a clear message.
    The published checkpoints hold the backbone weights too, so any weights of the right architecture do."""
    import torch
    import torch.hub

    weights = Path(backbone_weights).expanduser() if backbone_weights else None

    def load_state_dict_from_url(url: str, *args: Any, **kwargs: Any) -> Any:
        if weights is None:
            raise RuntimeError(f"lvsbench offline mode: refusing to download {url}; pass --option "
                               "backbone_weights=FILE (a local copy; the checkpoint overwrites it anyway)")
        log.append(f"torch.hub download {url} -> {weights}")
        return torch.load(weights, map_location="cpu", weights_only=True)

    torch.hub.load_state_dict_from_url = load_state_dict_from_url  # type: ignore[assignment]
    try:  # torchvision keeps its own reference
        import torchvision.models._api as tv_api  # type: ignore[import-not-found]

        tv_api.load_state_dict_from_url = load_state_dict_from_url  # type: ignore[attr-defined]
    except Exception:  # torchvision absent or unusable (CPU torch wheel): nothing to patch
        pass
    return [f"torch.hub downloads -> {weights if weights else 'refused'}"]


def apply_all(text_encoder_dir: str | Path | None = None, backbone_weights: str | Path | None = None,
              msda: bool = False, transformers_patches: bool = True) -> tuple[list[str], list[str]]:
    """Apply every patch; returns (notes, redirect log). The log list keeps growing as redirects happen."""
    log: list[str] = []
    notes = apply_collections_aliases() + apply_numpy_aliases()
    if transformers_patches:
        notes += apply_transformers_offline(text_encoder_dir, log)
    notes += apply_torch_hub_offline(backbone_weights, log)
    if msda:
        from lvsbench.adapters.msda import install

        note = install()
        if note:
            notes.append(note)
    return notes, log


__all__ = ["apply_all", "apply_collections_aliases", "apply_numpy_aliases", "apply_torch_hub_offline",
           "apply_transformers_offline", "when_imported"]
