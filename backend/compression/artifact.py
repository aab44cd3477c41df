"""Compress a fine-tune against its base into a packed artifact, and apply one back.

An artifact is a folder:
  ``delta.safetensors``  per-field buffers ``f.<field>`` (each method's fields concatenated over
                         tensors), one int32 table ``lengths`` (field × tensor) of their
                         per-tensor lengths, the exactly stored tensors ``x.<name>``, and int32
                         CRC-32 tables ``crc`` (one per compressed tensor, over its fields) and
                         ``crc_x`` (one per exact tensor, sorted by name)
  ``delta.json``         format, method, budget, settings, base fingerprint, the field order of
                         ``lengths``, [name, shape, dtype] of each compressed tensor (in storage
                         order; [name, shape] and one ``dtype`` when all share it), and the scale
                         distillation's record when there was one, and ``payload_sha256``: the
                         SHA-256 of ``delta.safetensors`` (format /3; ``integrity.py``)
  ``files/``             the fine-tune's small non-weight files (config, tokenizer), copied
Sizes are accounted field by field (payload vs metadata vs exact tensors vs container overhead)
and checked against the bytes on disk after writing.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Callable

import torch

from backend.compression import integrity, methods
from backend.compression.names import check_bits
from backend.compression.model_io import TensorEntry, fingerprint, index_tensors, read_tensor
from backend.workspace.atomic import atomic_dir

FORMAT = "benchtop-delta/3"
# /1 kept one length table per field (``n.<field>``); /1 and /2 carry no digests (read unverified)
READABLE = ("benchtop-delta/1", "benchtop-delta/2", FORMAT)
DATA, META, AUX = "delta.safetensors", "delta.json", "files"
TABLES = ("lengths", "crc", "crc_x")   # container tables: metadata
Progress = Callable[[float, str], None]


def is_selected(entry: TensorEntry, which: str = "2d", exclude: str | None = None) -> bool:
    """Compress this tensor? ``2d``: floating 2-D matrices; ``all``: every floating tensor of ≥ 2-D;
    ``exclude`` is a regular expression of names kept exact (e.g. ``embed|lm_head``)."""
    if exclude and re.search(exclude, entry.name):
        return False
    floating = entry.dtype in ("F32", "F16", "BF16", "F64")
    if which == "2d":
        return floating and len(entry.shape) == 2
    if which == "all":
        return floating and len(entry.shape) >= 2
    raise ValueError(f"unknown tensor selection {which!r}; choose 2d or all")


def _check_pair(base: dict, ft: dict, ft_dir: Path) -> None:
    for name, e in ft.items():
        b = base.get(name)
        if b is not None and b.shape != e.shape:
            raise ValueError(f"{e.file}: tensor {name} has shape {list(e.shape)} but the base model's "
                             f"({b.file}) is {list(b.shape)}: not a fine-tune of this base")


def compress(base_dir: str | Path, ft_dir: str | Path, out: str | Path, method: str = "delta-dct",
             bits: float = 1.0, settings: dict | None = None, which: str = "2d", exclude: str | None = None,
             device: str = "cpu", progress: Progress | None = None, cancel: Callable[[], None] | None = None,
             keep_recon: bool = False, distill: dict | None = None) -> dict:
    """Write the artifact for ``ft_dir − base_dir`` to ``out`` (atomically); returns the summary.

    The summary has per-tensor relative L2 errors, the realised bit mixes, the bit maps (as
    arrays under ``bitmaps``; callers store them) and the size accounting. With ``keep_recon``
    it also holds ``recon``: the reconstructed state dict, identical to what decompression gives.
    ``distill`` (``{"file": calibration text, ...DistillConfig fields}``) refits the stored
    scales on that text after encoding (Delta-DCT, BitDelta; ``distill.py``): same size and
    format, recorded in the artifact's JSON.
    """
    methods.check_method(method)
    bits = check_bits(method, bits, "bit budget")
    settings = methods.default_settings(method, **(settings or {}))
    base_dir, ft_dir, out = Path(base_dir), Path(ft_dir), Path(out)
    report = progress or (lambda f, m: None)
    texts, dcfg = None, None
    if distill:
        from backend.compression import distill as ds

        methods.scale_layout(method, settings)  # an unsupported method fails before any work
        dcfg = ds.DistillConfig.from_dict(distill)
        texts = ds.load_texts(distill["file"])
    base, ft = index_tensors(base_dir), index_tensors(ft_dir)
    _check_pair(base, ft, ft_dir)
    report(0.0, "fingerprinting the base model")
    base_fp = fingerprint(base_dir)
    t0 = time.perf_counter()
    plan = _plan_widths(base, ft, method, bits, settings, which, exclude, device, report, cancel)
    buffers: dict[str, list[torch.Tensor]] = {}
    lengths: dict[str, list[int]] = {}
    entries: list[list] = []
    per_tensor: list[dict] = []
    bitmaps: dict[str, object] = {}
    recon: dict[str, torch.Tensor] = {}
    crcs: dict[str, int] = {}
    sums = {"err": 0.0, "norm": 0.0, "n_comp": 0}

    def add(name: str, fields: dict, rec: torch.Tensor, info: dict) -> None:
        """Book one encoded tensor: its fields into the buffers, its error, its reconstruction."""
        e = ft[name]
        crcs[name] = integrity.crc32(fields[k] for k in sorted(fields))
        for k, v in fields.items():
            buffers.setdefault(k, []).append(v)
            lengths.setdefault(k, []).append(v.numel())
        entries.append([name, list(e.shape), e.dtype])
        w_ft, w_base = read_tensor(e), read_tensor(base[name]).float()
        delta = w_ft.float() - w_base
        dn, en = float(delta.double().norm()), float((rec.double() - delta.double()).norm())
        sums["err"] += en ** 2
        sums["norm"] += dn ** 2
        per_tensor.append({"name": name, "shape": list(e.shape), "rel_err": en / dn if dn > 0 else 0.0,
                           "mix": {str(k): v for k, v in info.get("mix", {}).items()}})
        if "bitmap" in info:
            bitmaps[name] = info["bitmap"]
        sums["n_comp"] += e.numel
        if keep_recon:
            recon[name] = (w_base + rec).to(w_ft.dtype)

    # without distillation every tensor is booked as soon as it is encoded (one tensor in memory);
    # distillation needs all decoded deltas at once
    enc_span = 0.8 if texts is None else 0.4
    encoded: list[tuple[str, dict, torch.Tensor, dict]] = []
    exact, n_exact = {}, 0
    names = sorted(ft)
    for i, name in enumerate(names):
        if cancel:
            cancel()
        e = ft[name]
        if name in base and is_selected(e, which, exclude):
            delta = read_tensor(e).float() - read_tensor(base[name]).float()
            item = (name, *methods.encode_tensor(method, name, delta, bits, settings, device, plan.get(name)))
            if texts is None:
                add(*item)
            else:
                encoded.append(item)
        else:
            exact["x." + name] = read_tensor(e).contiguous()
            n_exact += e.numel
        report(0.1 + (i + 1) / len(names) * enc_span, f"{name} ({i + 1}/{len(names)})")
    if not entries and not encoded:
        raise ValueError(f"no tensor of {ft_dir} was selected for compression "
                         f"(selection {which!r}, exclude {exclude!r})")
    distilled: dict | None = None
    if texts is not None and distill is not None:  # texts are read from distill["file"]
        encoded, distilled = _distill(ft_dir, base, ft, encoded, method, bits, settings, texts, dcfg, device,
                                      lambda f, m: report(0.5 + 0.4 * f, m), cancel)
        distilled["file"] = Path(distill["file"]).name
        distilled["sha256"] = ds.file_sha256(distill["file"])
        for item in encoded:
            add(*item)
        del encoded
    seconds = time.perf_counter() - t0
    n_comp = int(sums["n_comp"])
    if keep_recon:
        recon.update({n[2:]: t for n, t in exact.items()})
    fields = sorted(buffers)
    data = {"f." + k: torch.cat(buffers[k]) for k in fields}
    data["lengths"] = torch.tensor([lengths[k] for k in fields], dtype=torch.int32)
    data["crc"] = torch.tensor([crcs[e[0]] for e in entries], dtype=torch.int32)
    data["crc_x"] = torch.tensor([integrity.crc32([exact[k]]) for k in sorted(exact)], dtype=torch.int32)
    data.update(exact)
    meta = {"format": FORMAT, "method": method, "bits": bits, "settings": settings,
            "selection": {"which": which, "exclude": exclude},
            "base": {"fingerprint": base_fp, "name": base_dir.name}, "fields": fields}
    dtypes = {e[2] for e in entries}
    if len(dtypes) == 1:   # the common case: one dtype, said once
        meta["dtype"] = dtypes.pop()
        entries = [e[:2] for e in entries]
    meta["tensors"] = entries
    if distilled:
        meta["distill"] = distill_record(distilled)
    from safetensors.torch import save as st_save

    blob = st_save(data)
    meta["payload_sha256"] = integrity.sha256(blob)
    meta_bytes = json.dumps(meta, separators=(",", ":"), allow_nan=False).encode()
    aux = [p for p in sorted(ft_dir.iterdir()) if p.is_file() and not p.name.startswith("model")
           and p.suffix in (".json", ".txt", ".model", ".jinja")]
    report(0.92, f"writing {out}")
    with atomic_dir(out) as tmp:
        (tmp / DATA).write_bytes(blob)
        (tmp / META).write_bytes(meta_bytes)
        (tmp / AUX).mkdir()
        for p in aux:
            shutil.copy2(p, tmp / AUX / p.name)
    acct = account(data, method, len(blob), len(meta_bytes), n_comp, n_exact)
    acct.update(measure(out, acct))
    rel = (sums["err"] / sums["norm"]) ** 0.5 if sums["norm"] > 0 else 0.0
    summary = {"method": method, "bits": bits, "settings": settings, "out": str(out),
               "base_fingerprint": base_fp, "rel_err": rel, "tensors": per_tensor,
               "exact_tensors": sorted(n[2:] for n in exact), "sizes": acct, "seconds": seconds,
               "params_per_s": n_comp / seconds if seconds > 0 else None, "bitmaps": bitmaps,
               "distill": distilled}
    if keep_recon:
        summary["recon"] = recon
    report(1.0, "done")
    return summary


def distill_record(info: dict) -> dict:
    """What the artifact's JSON keeps of a scale distillation: the calibration file (name and the
    first 16 hex digits of its SHA-256), the settings and the KL before/after (4 digits). Compact,
    because it is metadata and counts against the bit budget."""
    kl = [None if v is None else round(float(v), 4) for v in (info["kl_before"], info["kl_after"])]
    return {"file": info["file"], "sha256": info["sha256"][:16], "texts": info["texts"],
            **{k: info[k] for k in ("steps", "lr", "batch", "max_tokens", "seed")}, "kl": kl}


def _distill(ft_dir: Path, base: dict, ft: dict, encoded: list, method: str, bits: float, settings: dict,
             texts: list[str], cfg, device: str, report: Progress, cancel) -> tuple[list, dict]:
    """Refit the stored scales of every encoded tensor on ``texts``; returns the re-encoded list
    (fields with the new scales and their decoded deltas) and the distillation info."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from backend.compression.distill import ScaleGroup, fit_scales

    block, log_step = methods.scale_layout(method, settings)
    report(0.0, f"loading {ft_dir.name} for scale distillation")
    try:
        model = AutoModelForCausalLM.from_pretrained(str(ft_dir), dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(str(ft_dir))
    except (OSError, ValueError) as exc:
        raise ValueError(f"scale distillation needs a causal LM with its tokenizer in {ft_dir}: {exc}") from None
    own = dict(model.named_parameters())
    groups = {}
    for name, fields, rec, _ in encoded:
        if name not in own:
            raise ValueError(f"{ft[name].file}: tensor {name} is not a parameter of the model in {ft_dir}; "
                             "scale distillation cannot refit it")
        groups[name] = ScaleGroup(read_tensor(base[name]).float().to(device), rec.float().to(device), block, log_step)
    logs, info = fit_scales(model, tok, groups, texts, cfg, device, report, cancel)
    del model, groups
    out = []
    for name, fields, rec, meta in encoded:
        shape = tuple(ft[name].shape)
        new = methods.rescale_fields(method, settings, fields, shape, logs[name])
        out.append((name, new, methods.decode_tensor(method, name, new, shape, bits, settings, device).cpu(), meta))
    return out, info


def _plan_widths(base, ft, method, bits, settings, which, exclude, device, report, cancel) -> dict:
    """Delta-DCT with scope "model": one rate–distortion allocation over the patches of every
    compressed tensor, so the budget flows to where the delta's energy is (e.g. an LM head)."""
    from backend.compression import alloc, deltadct

    if method != "delta-dct":
        return {}
    cfg = deltadct.DCTConfig.from_dict(settings)
    if cfg.scope != "model" or cfg.alloc != "rd":
        return {}
    names = [n for n in sorted(ft) if n in base and is_selected(ft[n], which, exclude)]
    energies, numel = [], 0
    for i, n in enumerate(names):
        if cancel:
            cancel()
        delta = read_tensor(ft[n]).float() - read_tensor(base[n]).float()
        energies.append(deltadct.patch_energy(delta, cfg.patch, device))
        numel += delta.numel()
        report(0.1 * (i + 1) / max(1, len(names)), f"importance of {n}")
    if not energies:
        return {}
    widths = alloc.allocate_rd(torch.cat(energies), cfg.patch ** 2, bits * numel, cfg.levels, cfg.quantizer)
    return dict(zip(names, torch.split(widths, [e.numel() for e in energies])))


def account(data: dict[str, torch.Tensor], method: str, blob_len: int, meta_len: int, n_comp: int,
            n_exact: int) -> dict:
    """Bits by kind, computed from the tensors written (not from the files)."""
    payload = sum(t.numel() * t.element_size() for k, t in data.items()
                  if k.startswith("f.") and k[2:] in methods.PAYLOAD[method]) * 8
    field_meta = sum(t.numel() * t.element_size() for k, t in data.items()
                     if (k.startswith("f.") and k[2:] not in methods.PAYLOAD[method]) or k in TABLES) * 8
    exact = sum(t.numel() * t.element_size() for k, t in data.items() if k.startswith("x.")) * 8
    container = blob_len * 8 - payload - field_meta - exact
    metadata = field_meta + container + meta_len * 8
    return {"compressed_params": n_comp, "exact_params": n_exact, "payload_bits": payload,
            "metadata_bits": metadata, "field_metadata_bits": field_meta, "container_bits": container,
            "json_bits": meta_len * 8, "exact_bits": exact,
            "payload_bpp": payload / n_comp, "total_bpp": (payload + metadata) / n_comp,
            "accounted_bytes": (payload + metadata + exact) // 8}


def measure(out: Path, acct: dict) -> dict:
    """File sizes on disk against the accounting (the 1% check of the acceptance list)."""
    on_disk = (out / DATA).stat().st_size + (out / META).stat().st_size
    aux = sum(p.stat().st_size for p in (out / AUX).iterdir()) if (out / AUX).is_dir() else 0
    dev = abs(on_disk - acct["accounted_bytes"]) / max(1, on_disk)
    fp32_bytes = 4 * (acct["compressed_params"] + acct["exact_params"])
    return {"file_bytes": on_disk, "aux_file_bytes": aux, "accounting_deviation": dev,
            "ratio_vs_fp32_delta": fp32_bytes / on_disk, "file_bpp_all_params":
                8 * on_disk / (acct["compressed_params"] + acct["exact_params"])}
