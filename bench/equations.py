"""Equation-discovery bench: speed against PySINDy, recovery table, high-dimensional extrapolation.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/equations.py [--reps 9] [--autoencoder] [--json OUT]

1. Fit time on 10k-sample Lorenz with the cubic library (finite differences + library + STLSQ
   0.1), ours vs ``pysindy.SINDy.fit``, min and median of ``--reps`` runs, as a ratio; plus the
   largest coefficient difference (PySINDy is a bench/test-only dependency).
2. Recovery on every built-in system, clean and with 1 % noise (Savitzky–Golay derivative).
3. Rendered pendulum (51x51 frames, 1 % pixel noise): coordinates found by tracking the object
   vs sparse regression on raw PCA coordinates (2 and 3 components, poly2/poly3; the best PCA
   variant is the baseline). Both are judged in the same observable, the object's pixel track
   over the 20 % of the video after the training window: relative L2 and valid time (10 %).
   ``--autoencoder`` adds the SINDy-autoencoder coordinates (slow on a CPU).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.equations import coords, derivatives, metrics, regression, systems  # noqa: E402
from backend.equations.library import Library  # noqa: E402
from backend.equations.model import FitSettings, fit_system  # noqa: E402


def speed(reps: int) -> dict:
    import pysindy as ps

    t, x, names = systems.simulate("lorenz")
    x, dt = x[:10000], float(t[1] - t[0])
    lib = Library.from_spec("poly3", names)

    def ours():
        return regression.stlsq(lib.transform(x), derivatives.finite_difference(x, dt), threshold=0.1)

    def theirs():
        m = ps.SINDy(optimizer=ps.STLSQ(threshold=0.1), feature_library=ps.PolynomialLibrary(degree=3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(x, t=dt)
        return m.coefficients()

    times = {"ours": [], "pysindy": []}
    for _ in range(reps):
        for name, fn in (("ours", ours), ("pysindy", theirs)):
            t0 = time.perf_counter()
            coef = fn()
            times[name].append(time.perf_counter() - t0)
            if name == "ours":
                a = coef
            else:
                b = coef
    out = {k: {"min_ms": 1e3 * min(v), "median_ms": 1e3 * statistics.median(v)} for k, v in times.items()}
    out["ratio_min"] = out["ours"]["min_ms"] / out["pysindy"]["min_ms"]
    out["ratio_median"] = out["ours"]["median_ms"] / out["pysindy"]["median_ms"]
    out["max_abs_coef_diff"] = float(np.abs(a - b).max())
    return out


def recovery() -> list[dict]:
    rows = []
    for name, s in systems.SYSTEMS.items():
        for noise in (0.0, 0.01):
            t, x, names = systems.simulate(name, noise=noise, seed=1)
            st = FitSettings(library=s.library, derivative="savgol" if noise else "finite_difference", **s.fit_defaults)
            m = fit_system(t, x, names, st, truth=s.truth).metrics
            rows.append({"system": name, "noise": noise, "support_correct": m["support_correct"],
                         "max_rel_coef_error": m["coef_max_rel_error_true_terms"],
                         "extrapolation_rel_l2": m["extrapolation_rel_l2"], "valid_time": m["valid_time"],
                         "horizon": m["horizon"]})
    return rows


def high_dim(autoencoder: bool) -> dict:
    v = systems.pendulum_video(noise=0.01, seed=0)
    t, frames = v["t"], v["frames"]
    flat = frames.reshape(len(t), -1)
    size = frames.shape[1]
    track = coords.centroids(frames)
    centre = track.mean(axis=0)
    start = int(round(len(t) * 0.8)) - 1
    true = track[start:] - centre

    def judge(pred_track: np.ndarray) -> dict:
        pred = pred_track - centre
        n = len(pred)
        return {"rel_l2": metrics.relative_l2(pred, true[:n]),
                "valid_time": metrics.valid_time(t[start:start + n], true[:n], pred)}

    out: dict = {"frames": list(frames.shape), "horizon": float(t[-1] - t[start]), "pca": {}}
    for k in (2, 3):
        p = coords.pca(flat, k)
        for lib in ("poly2", "poly3"):
            settings = FitSettings(library=lib, threshold=0.05, derivative="savgol")
            fit = fit_system(t, p["z"], [f"z{i}" for i in range(k)], settings)
            if np.all(np.isfinite(fit.prediction)):
                rec = coords.pca_reconstruct(fit.prediction, p["components"], p["mean"]).reshape(-1, size, size)
                res = judge(coords.centroids(rec))
            else:
                res = {"rel_l2": float("inf"), "valid_time": 0.0, "diverged": True}
            out["pca"][f"k{k}_{lib}"] = {**res, "n_terms": fit.model.n_terms, "explained": sum(p["explained"])}
    out["pca_best"] = min(out["pca"].items(), key=lambda kv: kv[1]["rel_l2"])
    z, names, info = coords.coordinates(flat, t, "track", frames=frames)
    fit = fit_system(t, z, names, FitSettings(library="poly1+trig1", threshold=0.1, derivative="savgol"),
                     truth=v["truth"])
    res = judge(coords.angle_to_centroids(fit.prediction[:, 0], np.array(info["centre"]), info["radius"]))
    out["track"] = {**res, "equations": fit.model.text(), "support_correct": fit.metrics["support_correct"],
                    "max_rel_coef_error": fit.metrics["coef_max_rel_error_true_terms"]}
    if autoencoder:
        t0 = time.perf_counter()
        ae = coords.fit_autoencoder(flat, float(t[1] - t[0]), latent_dim=2, delays=1, lag=3, epochs=2000, lr=3e-3)
        fit = fit_system(t[: len(ae.z)], ae.z, ["z0", "z1"],
                         FitSettings(library="poly3", threshold=0.05, derivative="savgol"))
        if np.all(np.isfinite(fit.prediction)):
            res = judge(coords.centroids(ae.decode(fit.prediction).reshape(-1, size, size)))
        else:
            res = {"rel_l2": float("inf"), "valid_time": 0.0}
        out["autoencoder"] = {**res, "equations": fit.model.text(), "train_seconds": time.perf_counter() - t0,
                              "final_losses": ae.losses[-1]}
    out["improvement_over_pca"] = 1 - out["track"]["rel_l2"] / out["pca_best"][1]["rel_l2"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--autoencoder", action="store_true")
    ap.add_argument("--json", help="also write the figures as JSON here")
    args = ap.parse_args()
    res = {"speed": speed(args.reps)}
    s = res["speed"]
    print(f"Lorenz 10k samples, poly3, STLSQ 0.1 (OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}):")
    print(f"  ours    min {s['ours']['min_ms']:.1f} ms  median {s['ours']['median_ms']:.1f} ms")
    print(f"  pysindy min {s['pysindy']['min_ms']:.1f} ms  median {s['pysindy']['median_ms']:.1f} ms")
    print(f"  ratio ours/pysindy: {s['ratio_min']:.2f} (min), {s['ratio_median']:.2f} (median); "
          f"max |coef diff| {s['max_abs_coef_diff']:.2e}")
    res["recovery"] = recovery()
    print("\nrecovery (max relative error on the true terms; extrapolation over the last 20 %):")
    for r in res["recovery"]:
        print(f"  {r['system']:15s} noise {r['noise']:.2f}  support {'ok ' if r['support_correct'] else 'BAD'} "
              f"coef err {r['max_rel_coef_error']:.2e}  extrap rel L2 {r['extrapolation_rel_l2']:.3g}  "
              f"valid {r['valid_time']:.3g}/{r['horizon']:.3g}")
    hd = res["high_dim"] = high_dim(args.autoencoder)
    print(f"\nrendered pendulum {hd['frames']} (1 % noise), pixel-track extrapolation over {hd['horizon']:.2f} s:")
    for k, v in hd["pca"].items():
        print(f"  PCA {k:10s} rel L2 {v['rel_l2']:.3g}  valid {v['valid_time']:.3g} s  ({v['n_terms']} terms)")
    print(f"  tracked angle  rel L2 {hd['track']['rel_l2']:.3g}  valid {hd['track']['valid_time']:.3g} s  "
          f"support {'ok' if hd['track']['support_correct'] else 'BAD'}: {'; '.join(hd['track']['equations'])}")
    if "autoencoder" in hd:
        a = hd["autoencoder"]
        print(f"  autoencoder    rel L2 {a['rel_l2']:.3g}  valid {a['valid_time']:.3g} s  "
              f"({a['train_seconds']:.0f} s training)")
    print(f"  improvement of tracked coordinates over the best PCA baseline: {100 * hd['improvement_over_pca']:.1f} %")
    if args.json:
        from backend.workspace.atomic import atomic_write_json

        atomic_write_json(args.json, res)


if __name__ == "__main__":
    main()
