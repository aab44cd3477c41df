"""Every setting of an equation fit, torch-, scipy- and sympy-free so the CLI parser and the
panel can build from it without loading the numerical stack."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from backend.params import Params, param

DERIVATIVES = ("finite_difference", "savgol", "spectral")
FORMULATIONS = ("derivative", "weak", "integral", "auto")
CRITERIA = ("cv1se", "aicc", "bic")


@dataclass
class FitSettings(Params):
    """Everything that decides a fit (JSON-able, stored with the run); the CLI and panel read it."""

    label: ClassVar[str] = "equations"
    library: str = param("poly3", title="Library", help="candidate terms: polyN, trigN or a sum (poly2+trig1)")
    custom_terms: tuple[str, ...] = param((), title="Extra terms", help="sympy-syntax terms, e.g. x*exp(-y)",
                                          cli=False)
    order: int = param(1, title="Order", choices=(1, 2),
                       help="2: each observed column x gets a velocity state x_t; equations dx/dt = x_t and "
                            "dx_t/dt = f(x, x_t) (for angles, positions and other second-order data)")
    degrees: bool = param(False, title="Degrees", help="the observed columns are angles in degrees (converted "
                                                        "to radians before trigonometric terms)")
    derivative: str = param("finite_difference", title="Derivative", choices=DERIVATIVES,
                            help="how derivatives (and velocities) are estimated")
    window: int = param(11, title="Smoothing window", min=5, max=1001, advanced=True,
                        help="Savitzky-Golay window in samples")
    formulation: str = param("auto", title="Formulation", choices=FORMULATIONS,
                             help="derivative (SINDy), integral or weak form; auto picks integral for short "
                                  "records and, with selection, weak for rough ones")
    optimizer: str = param("stlsq", title="Optimizer", choices=("stlsq", "sr3", "sr3-l1"))
    threshold: float = param(0.1, title="Threshold", min=0.0, help="sparsity threshold on coefficients")
    alpha: float = param(0.05, title="Ridge weight", min=0.0, help="STLSQ ridge weight", advanced=True)
    normalize_columns: bool = param(False, title="Normalize columns",
                                    help="normalise library columns before thresholding")
    ensemble: int = param(0, title="Ensemble", min=0, max=500, help="bagged models (0 = none)", advanced=True)
    select: bool = param(False, title="Select terms",
                         help="choose each equation's terms by held-out error instead of one threshold")
    criterion: str = param("cv1se", title="Selection rule", choices=CRITERIA,
                           help="cv1se: sparsest model within one standard error of the best held-out error; "
                                "aicc / bic: information criteria on the held-out error")
    max_terms: int = param(6, title="Most terms", min=1, max=20, advanced=True,
                           help="largest number of terms per equation that selection considers")
    train_fraction: float = param(0.8, title="Train fraction", min=0.1, max=1.0,
                                  help="fit on this leading part; extrapolate the rest")
    seed: int = param(0, title="Seed", min=0, advanced=True)

    @classmethod
    def from_job_params(cls, params: dict, **defaults: object) -> FitSettings:
        """The fit settings among a job's params (which also hold data and output options)."""
        names = {f.name for f in fields(cls)}
        return cls.from_params({**defaults, **{k: v for k, v in params.items() if k in names}})
