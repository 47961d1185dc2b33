"""`KEY=VALUE` flags of the command line (`--option`, `--dataset-option`, `-o`): one parser for all of them.

Adapter options are strings converted by the type hints of the adapter's `Options` dataclass; reader options
(`--dataset-option`, `-o`) have no declared types, so `typed_value` reads `true`/`false` as booleans and numbers as
numbers: `drop_unlocated=false` must be False, not the (truthy) string "false".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lvsbench.core.errors import ConfigError

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def split_key_values(items: Sequence[str], flag: str = "--option") -> dict[str, str]:
    """`["a=1", "b=x"]` to `{"a": "1", "b": "x"}`; a flag without '=', an empty key or a key given twice is a
    ConfigError naming the flag."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} {item!r}: expected key=value")
        k, v = item.split("=", 1)
        k = k.strip()
        if not k:
            raise ConfigError(f"{flag} {item!r}: empty key")
        if k in out:
            raise ConfigError(f"{flag} {k}: given twice")
        out[k] = v
    return out


def typed_value(text: str) -> Any:
    """`true`/`false` (any case) -> bool, integers -> int, decimals -> float, anything else unchanged."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(text.strip()):
        return int(text)
    if _FLOAT.match(text.strip()):
        return float(text)
    return text


def parse_typed_options(items: Sequence[str], flag: str = "--dataset-option") -> dict[str, Any]:
    """Reader options from `KEY=VALUE` flags: typed values (`typed_value`), keys with '-' as '_'."""
    return {k.replace("-", "_"): typed_value(v) for k, v in split_key_values(items, flag).items()}


def check_keywords(fn: Any, what: str, *args: Any, **kwargs: Any) -> None:
    """Refuse options `fn` does not take (ConfigError naming them) before calling it. Catching the TypeError of
    the call instead would also turn a bug inside `fn` into a "bad option" user error."""
    import inspect

    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"{what}: {exc}") from None


__all__ = ["check_keywords", "parse_typed_options", "split_key_values", "typed_value"]
