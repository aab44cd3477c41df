"""Coordinates for high-dimensional data: PCA, an object tracker, a small torch autoencoder.

Sparse regression needs a handful of state variables in which the dynamics are simple. Three
ways to get them from frames:

* ``pca`` — linear, fast, the baseline. For a swinging object the leading PCA coordinates are
  nonlinear functions of the angle, so a polynomial model in them extrapolates poorly.
* ``track_angle`` — for pixel-coordinate systems (arXiv 2505.11940's first type): the object's
  intensity-weighted centroid per frame, a least-squares circle through the track, and the
  angle around the circle's centre. The physical coordinate is read off the pixels.
* ``fit_autoencoder`` — for latent-coordinate systems: an MLP autoencoder whose latent
  trajectory is pushed, jointly with reconstruction, to obey a sparse polynomial ODE (the SINDy
  autoencoder of Champion et al. 2019, with finite-difference latent derivatives). ``delays``
  stacks later frames into each input so a latent can carry velocity as well as position.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def pca(x: np.ndarray, k: int) -> dict:
    """Top-``k`` principal coordinates via SVD of the centred data."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s ** 2
    return {"z": u[:, :k] * s[:k], "components": vt[:k], "mean": mean,
            "explained": (var[:k] / var.sum()).tolist()}


def pca_reconstruct(z: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return np.asarray(z) @ components + mean


def centroids(frames: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre (column, row) of each frame above its median background."""
    f = np.asarray(frames, dtype=np.float64)
    w = np.clip(f - np.median(f.reshape(len(f), -1), axis=1)[:, None, None], 0, None)
    w = w / np.maximum(w.sum(axis=(1, 2), keepdims=True), 1e-300)
    rows, cols = np.indices(f.shape[1:])
    return np.stack([(w * cols).sum(axis=(1, 2)), (w * rows).sum(axis=(1, 2))], axis=1)


def fit_circle(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Algebraic (Kåsa) least-squares circle: solve x^2+y^2 = 2ax + 2by + c."""
    p = np.asarray(points, dtype=np.float64)
    a = np.column_stack([2 * p[:, 0], 2 * p[:, 1], np.ones(len(p))])
    sol = np.linalg.lstsq(a, (p ** 2).sum(axis=1), rcond=None)[0]
    centre = sol[:2]
    return centre, float(np.sqrt(sol[2] + centre @ centre))


def track_angle(frames: np.ndarray) -> dict:
    """Angle of a tracked object around the centre of the circle its track lies on.

    Zero points straight down in the image (rows grow downwards); the angle is unwrapped so it
    is continuous for full rotations."""
    c = centroids(frames)
    centre, radius = fit_circle(c)
    theta = np.unwrap(np.arctan2(c[:, 0] - centre[0], c[:, 1] - centre[1]))
    return {"theta": theta, "centroids": c, "centre": centre, "radius": radius}


def angle_to_centroids(theta: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    return np.stack([centre[0] + radius * np.sin(theta), centre[1] + radius * np.cos(theta)], axis=1)


@dataclass
class AutoencoderResult:
    z: np.ndarray                 # latent trajectory (n - delays, latent_dim)
    coef: np.ndarray              # jointly trained latent ODE coefficients (latent_dim, n_terms)
    losses: list[dict]
    decode: Callable[[np.ndarray], np.ndarray]
    encode: Callable[[np.ndarray], np.ndarray]


def _stack_delays(x: np.ndarray, delays: int, lag: int) -> np.ndarray:
    n = len(x) - delays * lag
    return np.concatenate([x[i * lag: i * lag + n] for i in range(delays + 1)], axis=1)


def _poly_torch(z, degree: int):
    import itertools

    import torch

    cols = [torch.ones_like(z[:, 0])]
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(range(z.shape[1]), d):
            col = z[:, combo[0]]
            for i in combo[1:]:
                col = col * z[:, i]
            cols.append(col)
    return torch.stack(cols, dim=1)


def fit_autoencoder(x: np.ndarray, dt: float, latent_dim: int = 2, hidden: int = 64, degree: int = 3,
                    epochs: int = 1500, lr: float = 2e-3, sindy_weight: float = 0.1, l1_weight: float = 1e-4,
                    delays: int = 0, lag: int = 1, device: str = "cpu", seed: int = 0, pre_pca: int = 32,
                    progress: Callable[[int, dict], None] | None = None) -> AutoencoderResult:
    """Train encoder/decoder and latent ODE coefficients jointly (full batch, float32, Adam).

    Loss = reconstruction MSE + ``sindy_weight`` * (latent derivative residual, normalised by
    the latent derivative's size so the latent cannot shrink to cheat) + ``l1_weight`` * |Xi|_1.
    ``progress(epoch, losses)`` may raise to cancel. Frames are first projected on their top
    ``pre_pca`` principal components (lossless for smooth images, and ~100x cheaper on a CPU)."""
    import torch

    torch.manual_seed(seed)
    x = np.asarray(x, dtype=np.float64)
    full_dim = x.shape[1]
    pp = pca(x, min(pre_pca, *x.shape)) if pre_pca and x.shape[1] > pre_pca else None
    if pp is not None:
        x = pp["z"]
    xs = _stack_delays(x, delays, lag)
    mu, sd = xs.mean(axis=0), xs.std() + 1e-12
    data = torch.tensor((xs - mu) / sd, dtype=torch.float32, device=device)
    d_in = data.shape[1]
    enc = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.ELU(), torch.nn.Linear(hidden, latent_dim)).to(device)
    dec = torch.nn.Sequential(torch.nn.Linear(latent_dim, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.ELU(), torch.nn.Linear(hidden, d_in)).to(device)
    n_terms = _poly_torch(torch.zeros(1, latent_dim), degree).shape[1]
    xi = torch.zeros(n_terms, latent_dim, device=device, requires_grad=True)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters(), xi], lr=lr)
    losses = []
    for epoch in range(epochs):
        z = enc(data)
        recon = torch.mean((dec(z) - data) ** 2)
        dz = (z[2:] - z[:-2]) / (2 * dt)
        pred = _poly_torch(z[1:-1], degree) @ xi
        dyn = torch.mean((dz - pred) ** 2) / (torch.mean(dz ** 2).detach() + 1e-12)
        loss = recon + sindy_weight * dyn + l1_weight * xi.abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if epoch % 50 == 0 or epoch == epochs - 1:
            row = {"epoch": epoch, "recon": float(recon.detach()), "dynamics": float(dyn.detach()),
                   "loss": float(loss.detach())}
            losses.append(row)
            if progress:
                progress(epoch, row)

    def encode(frames_flat: np.ndarray) -> np.ndarray:
        if pp is not None:
            frames_flat = (frames_flat - pp["mean"]) @ pp["components"].T
        with torch.no_grad():
            inp = torch.tensor((_stack_delays(frames_flat, delays, lag) - mu) / sd, dtype=torch.float32, device=device)
            return enc(inp).double().cpu().numpy()

    def decode(z_np: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = dec(torch.tensor(z_np, dtype=torch.float32, device=device)).double().cpu().numpy()
        out = (out * sd + mu)[:, : x.shape[1]]
        return pca_reconstruct(out, pp["components"], pp["mean"]) if pp is not None else out[:, :full_dim]

    with torch.no_grad():
        z_all = enc(data).double().cpu().numpy()
    return AutoencoderResult(z_all, xi.detach().double().cpu().numpy().T, losses, decode, encode)


def coordinates(frames_flat: np.ndarray, t: np.ndarray, method: str, k: int = 2, frames: np.ndarray | None = None,
                device: str = "cpu", seed: int = 0, epochs: int = 1500,
                progress: Callable[[int, dict], None] | None = None) -> tuple[np.ndarray, list[str], dict]:
    """Low-dimensional states for high-dimensional data: ``(z, names, info)``.

    ``track`` returns (theta, omega) with omega the Savitzky–Golay derivative of the tracked
    angle (the object's position alone is not a state of a second-order system)."""
    from backend.equations.derivatives import savgol

    dt = float(t[1] - t[0])
    if method == "pca":
        p = pca(frames_flat, k)
        return p["z"], [f"z{i}" for i in range(k)], {"explained": p["explained"]}
    if method == "track":
        if frames is None:
            raise ValueError("coordinate method 'track' needs image frames (an NPZ 'frames' array or an image folder)")
        tr = track_angle(frames)
        theta, omega = savgol(tr["theta"][:, None], dt, window=9)
        return (np.column_stack([theta[:, 0], omega[:, 0]]), ["theta", "omega"],
                {"centre": tr["centre"].tolist(), "radius": tr["radius"], "centroids": tr["centroids"]})
    if method == "autoencoder":
        res = fit_autoencoder(frames_flat, dt, latent_dim=k, delays=1, lag=3, device=device, seed=seed,
                              epochs=epochs, progress=progress)
        z = np.vstack([res.z, np.repeat(res.z[-1:], len(t) - len(res.z), axis=0)])[: len(t)]
        return z, [f"z{i}" for i in range(k)], {"losses": res.losses, "note": "last 3 rows repeat (delay window)"}
    raise ValueError(f"unknown coordinate method {method!r} (pca, track, autoencoder)")
