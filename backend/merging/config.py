"""The mergekit YAML subset Benchtop reads and writes.

Supported: ``merge_method``, ``base_model``, ``models[].model``, ``models[].parameters``
(``weight``, ``density``, ``gamma``, ``epsilon``), global ``parameters`` (``normalize``,
``lambda``, ``rescale``, ``int8_mask``, ``t``), ``dtype``, ``out_dtype``,
``tokenizer_source: base``. A value is a scalar, a layer gradient (list of numbers) or a filter
list (``[{filter: mlp, value: 0.5}, {value: 0}]``). Anything else is refused with the exact
field named, so a config never silently merges differently from what its author meant.

The YAML is vetted before it is built into objects (:func:`_vet_yaml`): files over 1 MiB,
nesting deeper than 32 levels and anchors/aliases that would expand past 100,000 nodes (the
"billion laughs" bomb) are refused with one line, so a hostile config can neither exhaust memory
nor hit Python's recursion limit. Numbers must be finite: a weight of ``.nan`` names the weight.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.merging.methods import METHODS

TOP_FIELDS = {"merge_method", "base_model", "models", "parameters", "dtype", "out_dtype", "tokenizer_source"}
MODEL_PARAMS = {"weight", "density", "gamma", "epsilon"}
GLOBAL_PARAMS = {"normalize", "lambda", "rescale", "int8_mask", "t"} | MODEL_PARAMS
DTYPES = {"float32", "float16", "bfloat16"}
MAX_YAML_BYTES = 1 << 20
MAX_YAML_DEPTH = 32
MAX_YAML_NODES = 100_000


class ConfigError(ValueError):
    """A config the subset does not cover or that is malformed; the message names the field."""


@dataclass
class ModelEntry:
    model: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class MergeConfig:
    merge_method: str
    models: list[ModelEntry]
    base_model: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    dtype: str | None = None
    out_dtype: str | None = None
    tokenizer_source: str | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"merge_method": self.merge_method}
        if self.base_model:
            d["base_model"] = self.base_model
        d["models"] = [{"model": m.model, **({"parameters": m.parameters} if m.parameters else {})}
                       for m in self.models]
        for k in ("parameters", "dtype", "out_dtype", "tokenizer_source"):
            v = getattr(self, k)
            if v:
                d[k] = v
        return d


def _check_value(where: str, v: Any) -> None:
    if isinstance(v, bool):
        return
    if isinstance(v, (int, float)):
        if not math.isfinite(v):
            raise ConfigError(f"{where}: {v} is not a finite number")
        return
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        bad = next((x for x in v if not math.isfinite(x)), None)
        if bad is not None:
            raise ConfigError(f"{where}: the gradient holds {bad}, not a finite number")
        return
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        for i, c in enumerate(v):
            extra = set(c) - {"filter", "value"}
            if extra or "value" not in c:
                raise ConfigError(f"{where}[{i}]: a filter entry needs 'value' and optionally 'filter' "
                                  f"(got {sorted(c)})")
            _check_value(f"{where}[{i}].value", c["value"])
        return
    raise ConfigError(f"{where}: expected a number, a gradient list or a filter list, got {v!r}")


def _check_params(source: str, where: str, params: Any, allowed: set[str]) -> dict:
    """A parameters mapping whose keys are all in ``allowed`` and whose values are well-formed."""
    params = params or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{source}: '{where}' must be a mapping")
    bad = sorted(set(params) - allowed)
    if bad:
        raise ConfigError(f"{source}: field '{where}.{bad[0]}' is not supported "
                          f"(supported: {', '.join(sorted(allowed))})")
    for k, v in params.items():
        try:
            _check_value(f"{where}.{k}", v)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return dict(params)


def parse_config(data: Any, source: str = "config") -> MergeConfig:
    """Validate a parsed YAML mapping into a MergeConfig (ConfigError names the field)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    unknown = sorted(set(data) - TOP_FIELDS)
    if unknown:
        raise ConfigError(f"{source}: field '{unknown[0]}' is not supported by Benchtop's mergekit subset "
                          f"(supported: {', '.join(sorted(TOP_FIELDS))})")
    method = data.get("merge_method")
    if method not in METHODS:
        raise ConfigError(f"{source}: merge_method {method!r} is not supported (choose one of {', '.join(METHODS)})")
    models = data.get("models")
    if not isinstance(models, list) or not models:
        raise ConfigError(f"{source}: 'models' must be a non-empty list")
    entries = []
    for i, m in enumerate(models):
        if isinstance(m, str):
            m = {"model": m}
        if not isinstance(m, dict) or "model" not in m:
            raise ConfigError(f"{source}: models[{i}] needs a 'model' field")
        _check_model_ref(source, f"models[{i}].model", m["model"])
        extra = sorted(set(m) - {"model", "parameters"})
        if extra:
            raise ConfigError(f"{source}: field 'models[{i}].{extra[0]}' is not supported")
        params = _check_params(source, f"models[{i}].parameters", m.get("parameters"), MODEL_PARAMS)
        entries.append(ModelEntry(str(m["model"]), params))
    params = _check_params(source, "parameters", data.get("parameters"), GLOBAL_PARAMS)
    for k in ("dtype", "out_dtype"):
        if data.get(k) is not None and data[k] not in DTYPES:
            raise ConfigError(f"{source}: {k} {data[k]!r} is not supported (choose one of {', '.join(sorted(DTYPES))})")
    tok = data.get("tokenizer_source")
    if tok not in (None, "base"):
        raise ConfigError(f"{source}: tokenizer_source {tok!r} is not supported (only 'base')")
    base = data.get("base_model")
    if base is not None:
        _check_model_ref(source, "base_model", base)
    if method == "linear":
        ws = [e.parameters.get("weight", params.get("weight", 1.0)) for e in entries]
        if all(isinstance(w, (int, float)) and w == 0 for w in ws):
            raise ConfigError(f"{source}: merge_method linear with every 'weight' 0 would write an all-zero model; "
                              "give at least one model a non-zero weight")
    from backend.merging.methods import NEEDS_BASE
    if method in NEEDS_BASE and not base:
        raise ConfigError(f"{source}: merge_method {method} needs 'base_model'")
    if method == "slerp" and "t" not in params:
        raise ConfigError(f"{source}: merge_method slerp needs 'parameters.t' (0 = base, 1 = the other model)")
    return MergeConfig(method, entries, str(base) if base else None, dict(params), data.get("dtype"),
                       data.get("out_dtype"), tok)


def _check_model_ref(source: str, where: str, v: Any) -> None:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{source}: field '{where}' must be a model folder or zoo:NAME (a string), "
                          f"got {type(v).__name__} {str(v)[:40]!r}")


def _vet_yaml(text: str, source: str) -> None:
    """Refuse deep nesting and alias expansion bombs from the event stream, before any object is built."""
    import yaml

    stack: list[list] = []          # [nodes so far, anchor] per open collection
    sizes: dict[str, int] = {}      # expanded node count of each anchored node
    total = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([0, ev.anchor])
            if len(stack) > MAX_YAML_DEPTH:
                raise ConfigError(f"{source}: nested deeper than {MAX_YAML_DEPTH} levels; not a merge config")
            continue
        if isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            n, anchor = stack.pop()
            n += 1
            if anchor:
                sizes[anchor] = n
        elif isinstance(ev, yaml.ScalarEvent):
            n = 1
            if ev.anchor:
                sizes[ev.anchor] = 1
        elif isinstance(ev, yaml.AliasEvent):
            n = sizes.get(ev.anchor, 1)
        else:
            continue
        total += n if not stack else 0
        if stack:
            stack[-1][0] += n
        if (stack and stack[-1][0] > MAX_YAML_NODES) or total > MAX_YAML_NODES:
            raise ConfigError(f"{source}: aliases expand past {MAX_YAML_NODES:,} nodes; not a merge config")


def load_config(path: str | Path) -> MergeConfig:
    import yaml

    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes; a merge config is at most {MAX_YAML_BYTES:,}")
        text = path.read_text(encoding="utf-8")
        _vet_yaml(text, str(path))
        data = yaml.safe_load(text)
    except FileNotFoundError:
        raise FileNotFoundError(f"merge config {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    return parse_config(data, str(path))


def dump_config(cfg: MergeConfig) -> str:
    import yaml

    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


_LAYER = re.compile(r"\.layers\.(\d+)\.")


def layer_of(name: str) -> int | None:
    m = _LAYER.search(name)
    return int(m.group(1)) if m else None


_POST = re.compile(r"(^|\.)(lm_head|norm|final_layernorm|ln_f|score)\.|^model\.norm\b")


def _after_layers(name: str) -> bool:
    """Whether a tensor outside the layers comes after them (final norm, lm_head, score head)."""
    return bool(_POST.search(name))


def resolve_value(v: Any, name: str, n_layers: int) -> Any:
    """A parameter's value for tensor ``name``: filter lists first match wins (missing or ``*``
    filter is the fallback); gradients interpolate piecewise-linearly over t = layer/(N-1);
    tensors outside the layers take the first value (embeddings) or the last (final norm,
    lm_head), as mergekit does."""
    if isinstance(v, list) and v and isinstance(v[0], dict):
        for c in v:
            f = c.get("filter")
            if f in (None, "*") or f in name:
                return resolve_value(c["value"], name, n_layers)
        return None
    if isinstance(v, list):
        if len(v) == 1:
            return float(v[0])
        layer = layer_of(name)
        if layer is None:   # mergekit: embeddings take the first value, final norm and lm_head the last
            t = 1.0 if _after_layers(name) else 0.0
        else:
            t = 0.0 if n_layers <= 1 else layer / (n_layers - 1)
        pos = t * (len(v) - 1)
        i = min(int(pos), len(v) - 2)
        frac = pos - i
        return float(v[i] * (1 - frac) + v[i + 1] * frac)
    return v


def tensor_params(cfg: MergeConfig, index: int, name: str, n_layers: int) -> dict[str, Any]:
    """Per-model parameters for one tensor, with mergekit's precedence (model over global)."""
    out: dict[str, Any] = {}
    for k in MODEL_PARAMS:
        src = cfg.models[index].parameters.get(k, cfg.parameters.get(k))
        if src is not None:
            out[k] = resolve_value(src, name, n_layers)
    return out


def global_params(cfg: MergeConfig, name: str, n_layers: int) -> dict[str, Any]:
    return {k: resolve_value(cfg.parameters[k], name, n_layers) for k in ("normalize", "lambda", "rescale", "t")
            if k in cfg.parameters}
