"""Subprocess worker for external RVOS checkouts: `python -m lvsbench.adapters.worker`, run with `cwd=code_dir`.

Why a subprocess: the checkouts have top-level packages named `models`, `datasets`, `util(s)`, `network`, `misc`
that clash with each other and with installed libraries (`datasets` shadows HuggingFace's), and they need patches
(`lvsbench.adapters.compat`) that must not leak into lvsbench's own process. The parent
(`lvsbench.adapters.external`) keeps scoring, caching and resume; the worker only answers requests (adapters.md
§4.2, the lm-evaluation-harness split).

Protocol: one JSON object per line on stdin, one reply per line on the original stdout (the model's own prints are
sent to stderr). Pixels travel through files in a shared directory, not through JSON:

- `{"cmd": "init", "model": "mttr"|"referformer"|"locater", "code_dir", "checkpoint", "device", "options"}` ->
  `{"ok": true, "info": {...}}` (load report, patches, versions, device).
- `{"cmd": "predict", "frames": "clip.npy" (uint8 T,H,W,3), "texts": [...], "outputs": [frame indices],
  "mode": "trajectory"|"candidates", "result": "out.npz"}` -> `{"ok": true}`; the npz holds, per text i,
  `masks_i` (len(outputs), H, W) uint8, `scores_i` (len(outputs),) and in candidates mode `cand_masks_i`
  (len(outputs), K, H, W) uint8, `cand_scores_i` (len(outputs), K).
- `{"cmd": "shutdown"}`.
Errors reply `{"ok": false, "error": "...", "traceback": "..."}`.

The drivers call the model classes directly, never the repositories' scripts (hard-coded `.cuda()`, `LOCAL_RANK`,
`np.float` metric code). What each reproduces, and what could not be verified without the real weights, is listed
in docs/adapters.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.registry import Registry

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ============================================================================================ helpers


def _device(requested: str) -> str:
    import torch

    if requested in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _to_tensor(frames: np.ndarray, device: str) -> Any:
    """uint8 (T, H, W, 3) -> float (T, 3, H, W) in [0, 1] on `device`."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def _resize_short_side(x: Any, short: int, max_size: int | None) -> Any:
    """Resize (T, 3, H, W) so the short side is `short` and the long side at most `max_size` (torchvision
    `Resize(short, max_size)` rule), bilinear with antialiasing (like PIL's resize on downscaling)."""
    import torch.nn.functional as F  # noqa: N812

    h, w = x.shape[-2:]
    scale = short / min(h, w)
    if max_size is not None and max(h, w) * scale > max_size:
        scale = max_size / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    if (nh, nw) == (h, w):
        return x
    return F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)


def _normalize(x: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    import torch

    m = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s


def _versions() -> dict[str, Any]:
    out: dict[str, Any] = {"python": sys.version.split()[0]}
    for mod in ("torch", "transformers", "numpy"):
        m = sys.modules.get(mod)
        out[mod] = getattr(m, "__version__", None) if m else None
    return out


# ============================================================================================ drivers


class Driver:
    """One published model: build it from the checkout, load the checkpoint strictly, answer clips."""

    name = ""
    uses_msda = False

    def __init__(self, code_dir: Path, checkpoint: Path | None, device: str, options: dict[str, Any]) -> None:
        self.code_dir = code_dir
        self.checkpoint = checkpoint
        self.device = _device(device)
        self.options = options
        self.info: dict[str, Any] = {"device": self.device}

    def load_options(self) -> dict[str, Any]:
        return {"allow_namespace": bool(self.options.get("allow_namespace", False)),
                "trust": bool(self.options.get("trust_checkpoint", False)),
                "strict": bool(self.options.get("strict", True))}

    def build(self) -> None:
        raise NotImplementedError

    def predict(self, frames: np.ndarray, texts: list[str], outputs: list[int], mode: str) -> list[dict[str, Any]]:
        raise NotImplementedError


MTTR_INPUT_SIZE: dict[str, tuple[int, int]] = {"a2d": (320, 576), "jhmdb": (320, 576)}
"""(short side, max size) of MTTR's eval resize for a config whose `dataset_name` contains the key (its A2D / J-HMDB
datasets @2cc35ab); any other config (Refer-YouTube-VOS) uses (360, 640)."""


class MTTRDriver(Driver):
    """mttr2021/MTTR: `models.build_model(config)` -> (model, criterion, postprocessor); `model(samples:
    NestedTensor [T, B, 3, H, W], valid_indices, text_queries)` -> `pred_masks` [T, B, 50, H/4, W/4] and
    `pred_is_referred` [T, B, 50, 2]. Post-processing as `models/postprocessing.py`: score = softmax(referred)[0];
    masks bilinear to the input size, `sigmoid > 0.5`, nearest to the frame size. Refer-YouTube-VOS picks the query
    with the highest mean score over the window (one trajectory per window); A2D / J-HMDB keep all queries."""

    name = "mttr"

    def build(self) -> None:
        import torch
        import yaml

        from lvsbench.adapters.checkpoints import load_into

        config_name = self.options.get("config") or "refer_youtube_vos"
        cfg_path = self.code_dir / "configs" / f"{config_name}.yaml"
        if not cfg_path.is_file():
            raise FileNotFoundError(f"{cfg_path}: MTTR config not found (option config=<name> of configs/*.yaml)")
        raw = yaml.safe_load(cfg_path.read_text()) or {}
        config = {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in raw.items()}
        config.update({"device": self.device, "running_mode": "eval"})
        config.update(self.options.get("config_overrides") or {})
        import misc  # type: ignore[import-not-found]
        from models import build_model  # the checkout's  # type: ignore[import-not-found]

        self.nested_tensor = misc.NestedTensor
        model, _, _ = build_model(argparse.Namespace(**config))
        if self.checkpoint is None:
            raise ValueError("MTTR needs --checkpoint")
        self.info["load"] = load_into(model, self.checkpoint, keys=("model_state_dict",), **self.load_options())
        self.model = model.to(self.device).eval()
        self.config = config
        ds = str(config.get("dataset_name", config_name))
        short, max_size = next((size for key, size in MTTR_INPUT_SIZE.items() if key in ds), (360, 640))
        self.short = int(self.options.get("short_side") or short)
        self.max_size = int(self.options.get("max_size") or max_size)
        self.info.update({"config": str(cfg_path), "window_size": config.get("window_size"),
                          "short_side": self.short, "max_size": self.max_size})
        torch.set_grad_enabled(False)

    def predict(self, frames: np.ndarray, texts: list[str], outputs: list[int], mode: str) -> list[dict[str, Any]]:
        import torch
        import torch.nn.functional as F  # noqa: N812

        h0, w0 = frames.shape[1:3]
        x = _normalize(_resize_short_side(_to_tensor(frames, self.device), self.short, self.max_size),
                       IMAGENET_MEAN, IMAGENET_STD)
        t, _, h, w = x.shape
        samples = self.nested_tensor(x[:, None], torch.zeros((t, 1, h, w), dtype=torch.bool, device=self.device))
        valid = torch.arange(t, device=self.device) if mode == "trajectory" else torch.tensor(outputs,
                                                                                           device=self.device)
        results = []
        for text in texts:
            out = self.model(samples, valid, [text])
            logits = out["pred_masks"][:, 0]  # [T', Q, h/4, w/4]
            prob = F.softmax(out["pred_is_referred"][:, 0].float(), dim=-1)[..., 0]  # [T', Q]
            up = F.interpolate(logits.float(), size=(h, w), mode="bilinear", align_corners=False).sigmoid() > 0.5
            binary = F.interpolate(up.float(), size=(h0, w0), mode="nearest") > 0.5  # [T', Q, H, W]
            if mode == "trajectory":
                q = int(torch.argmax(prob.mean(0)))
                sel = torch.tensor(outputs, device=self.device)
                results.append({"masks": binary[sel, q], "scores": prob[sel, q]})
            else:
                top = prob.argmax(-1)
                idx = torch.arange(prob.shape[0], device=self.device)
                results.append({"masks": binary[idx, top], "scores": prob[idx, top], "cand_masks": binary,
                                "cand_scores": prob})
        return results


class ReferFormerDriver(Driver):
    """wjn922/ReferFormer: `models.build_model(args)` with the checkpoint's own `args` (an argparse.Namespace,
    hence allow_namespace); `model([imgs [T, 3, h, w]], [text], [{"size": (h, w)}])` -> `pred_logits` [1, T, Q, 1],
    `pred_masks` [1, T, Q, h', w']. As `inference_ytvos.py`: query with the highest mean sigmoid score over the
    frames, masks bilinear to the frame size, `sigmoid > 0.5`. A2D / J-HMDB: every query is a candidate with score
    sigmoid(logit). Frames: short side 360 (option short_side), ImageNet normalisation."""

    name = "referformer"
    uses_msda = True

    def build(self) -> None:
        import torch

        from lvsbench.adapters.checkpoints import clean_state_dict, load_checkpoint, strict_load, unwrap_state_dict

        if self.checkpoint is None:
            raise ValueError("ReferFormer needs --checkpoint")
        lo = self.load_options()
        obj, how = load_checkpoint(self.checkpoint, allow_namespace=lo["allow_namespace"], trust=lo["trust"])
        args = obj.get("args") if isinstance(obj, dict) else None
        if args is None:
            raise ValueError(f"{self.checkpoint}: no 'args' in the checkpoint; ReferFormer's model is built from them")
        args = copy.deepcopy(args)
        args.device = self.device
        for key, value in (self.options.get("args_overrides") or {}).items():
            setattr(args, key, value)
        from models import build_model  # type: ignore[import-not-found]

        built = build_model(args)
        model = built[0] if isinstance(built, tuple) else built
        sd, key = unwrap_state_dict(obj, ("model",))
        sd, cleaning = clean_state_dict(sd)
        report = strict_load(model, sd, strict=lo["strict"])
        self.info["load"] = {"loader": how, "state_dict_key": key, "top_level_keys": [str(k) for k in obj],
                             **cleaning, **report}
        self.model = model.to(self.device).eval()
        self.short = int(self.options.get("short_side") or 360)
        self.max_size = int(self.options["max_size"]) if self.options.get("max_size") else None
        self.threshold = float(self.options.get("threshold") or 0.5)
        self.info.update({"short_side": self.short, "backbone": getattr(args, "backbone", None)})
        torch.set_grad_enabled(False)

    def predict(self, frames: np.ndarray, texts: list[str], outputs: list[int], mode: str) -> list[dict[str, Any]]:
        import torch
        import torch.nn.functional as F  # noqa: N812

        h0, w0 = frames.shape[1:3]
        x = _normalize(_resize_short_side(_to_tensor(frames, self.device), self.short, self.max_size),
                       IMAGENET_MEAN, IMAGENET_STD)
        size = torch.as_tensor([int(x.shape[-2]), int(x.shape[-1])], device=self.device)
        sel = torch.tensor(outputs, device=self.device)
        results = []
        for text in texts:
            out = self.model([x], [text], [{"size": size}])
            scores = out["pred_logits"][0].float().sigmoid().amax(-1)  # [T, Q]
            masks = out["pred_masks"][0].float()  # [T, Q, h', w']
            if mode == "trajectory":
                q = int(torch.argmax(scores.mean(0)))
                m = F.interpolate(masks[sel, q][None], size=(h0, w0), mode="bilinear", align_corners=False)[0]
                results.append({"masks": m.sigmoid() > self.threshold, "scores": scores[sel, q]})
            else:
                m = F.interpolate(masks[sel], size=(h0, w0), mode="bilinear", align_corners=False)
                cand = m.sigmoid() > self.threshold
                top = scores[sel].argmax(-1)
                idx = torch.arange(len(outputs), device=self.device)
                results.append({"masks": cand[idx, top], "scores": scores[sel][idx, top], "cand_masks": cand,
                                "cand_scores": scores[sel]})
        return results


class LocaterDriver(Driver):
    """leonnnop/Locater: `network.mainnetwork.VLFTrans(img_dim=320, in_chans=3)`; per expression
    `_reset_memory()`, `_prep_global_mem(global_images [1, N1, 3, 320, 320], words)` with N1 = 3 frames at the
    1-based positions `(1 + step) // 2 + i * step`, step = int(T / N1), then `forward(vis=[1, 1, 3, 320, 320],
    lang=words)` frame by frame; the last of the returned mask logits is the output, `sigmoid`, bilinear
    (align_corners=True) to the frame size, `> 0.5` (tools/evaluate.py). Frames squashed to 320x320, mean/std 0.5.
    Text: lower-cased, bert-base-uncased WordPiece padded to 22 tokens; ids beyond the embedding table (30000 rows
    for a 30522-token vocabulary) are replaced by [UNK] and counted."""

    name = "locater"

    def build(self) -> None:
        import torch
        from network.mainnetwork import VLFTrans  # type: ignore[import-not-found]
        from transformers import AutoTokenizer

        from lvsbench.adapters.checkpoints import load_into

        self.size = int(self.options.get("img_size") or 320)
        self.n1 = int(self.options.get("n1") or 3)
        self.max_len = int(self.options.get("max_query_len") or 20) + 2
        net = VLFTrans(img_dim=self.size, in_chans=3)
        if self.checkpoint is None:
            raise ValueError("Locater needs --checkpoint")
        self.info["load"] = load_into(net, self.checkpoint, **self.load_options())
        self.net = net.to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        emb = [m for m in net.modules() if isinstance(m, torch.nn.Embedding)]
        self.vocab_rows = int(self.options.get("vocab_rows") or (emb[0].num_embeddings if emb else 30000))
        self.info.update({"img_size": self.size, "n1": self.n1, "vocab_rows": self.vocab_rows, "clamped_tokens": 0})
        torch.set_grad_enabled(False)

    def _prep(self, frames: np.ndarray) -> Any:
        import torch.nn.functional as F  # noqa: N812

        x = _to_tensor(frames, self.device)
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return _normalize(x, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

    def global_indices(self, n: int) -> list[int]:
        step = int(n / self.n1)
        return [min(max((1 + step) // 2 + i * step - 1, 0), n - 1) for i in range(self.n1)]

    def predict(self, frames: np.ndarray, texts: list[str], outputs: list[int], mode: str) -> list[dict[str, Any]]:
        import torch
        import torch.nn.functional as F  # noqa: N812

        h0, w0 = frames.shape[1:3]
        t = frames.shape[0]
        keep = {i: k for k, i in enumerate(outputs)}
        results = []
        for text in texts:
            words = self.tokenizer(text.lower(), padding="max_length", max_length=self.max_len, truncation=True,
                                   return_tensors="pt")
            ids = words["input_ids"]
            over = ids >= self.vocab_rows
            if bool(over.any()):
                self.info["clamped_tokens"] += int(over.sum())
                words["input_ids"] = torch.where(over, torch.full_like(ids, self.tokenizer.unk_token_id), ids)
            words = {k: v.to(self.device) for k, v in words.items()}
            self.net._reset_memory()
            glob = self._prep(frames[self.global_indices(t)])[None]
            self.net._prep_global_mem(glob, words)
            masks = torch.zeros((len(outputs), h0, w0), dtype=torch.bool, device=self.device)
            for i in range(t):
                out_masks, _ = self.net(vis=self._prep(frames[i:i + 1])[None], lang=words)
                if i in keep:
                    o = out_masks[-1].float().reshape(1, 1, *out_masks[-1].shape[-2:]).sigmoid()
                    o = F.interpolate(o, size=(h0, w0), mode="bilinear", align_corners=True)
                    masks[keep[i]] = o[0, 0] > 0.5
            results.append({"masks": masks, "scores": torch.ones(len(outputs))})
        return results


DRIVERS: Registry[type[Driver]] = Registry("external model")
for _driver in (MTTRDriver, ReferFormerDriver, LocaterDriver):
    DRIVERS.register(_driver.name, _driver)


# ============================================================================================ main loop


def _save_results(path: Path, results: list[dict[str, Any]]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for i, r in enumerate(results):
        for key, value in r.items():
            a = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
            arrays[f"{key}_{i}"] = a.astype(np.uint8) if a.dtype == bool else a.astype(np.float32)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def serve(inp: Any, out: Any) -> None:
    driver: Driver | None = None
    notes: list[str] = []
    redirects: list[str] = []

    def reply(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    for line in inp:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "shutdown":
                reply({"ok": True})
                return
            if cmd == "init":
                from lvsbench.adapters import compat

                cls = DRIVERS.load(req["model"])
                code_dir = Path(req["code_dir"]).resolve()
                if str(code_dir) not in sys.path:
                    sys.path.insert(0, str(code_dir))
                opts = req.get("options") or {}
                notes, redirects = compat.apply_all(opts.get("text_encoder_dir"), opts.get("backbone_weights"),
                                                    msda=cls.uses_msda)
                ckpt = Path(req["checkpoint"]) if req.get("checkpoint") else None
                driver = cls(code_dir, ckpt, req.get("device", "auto"), opts)
                driver.build()
                driver.info.update({"patches": notes, "redirects": redirects, "versions": _versions()})
                reply({"ok": True, "info": driver.info})
            elif cmd == "predict":
                if driver is None:
                    raise RuntimeError("predict before init")
                frames = np.load(req["frames"], allow_pickle=False)
                import torch

                with torch.inference_mode():
                    results = driver.predict(frames, list(req["texts"]), list(req["outputs"]), req["mode"])
                _save_results(Path(req["result"]), results)
                reply({"ok": True, "info": {"clamped_tokens": driver.info.get("clamped_tokens", 0),
                                            "redirects": redirects}})
            elif cmd == "info":
                reply({"ok": True, "info": driver.info if driver else {}})
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except BaseException as exc:  # report everything to the parent; keep serving
            err: dict[str, Any] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                   "traceback": traceback.format_exc()}
            report = getattr(exc, "report", None)
            if report is not None:
                err["report"] = report
            reply(err)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                return


def main() -> None:
    # The protocol uses the original stdout; everything the model prints goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin, proto)


if __name__ == "__main__":
    main()


__all__ = ["DRIVERS", "Driver", "IMAGENET_MEAN", "IMAGENET_STD", "LocaterDriver", "MTTRDriver", "MTTR_INPUT_SIZE",
           "ReferFormerDriver", "main", "serve"]
