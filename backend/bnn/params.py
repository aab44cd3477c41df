"""Settings of one ``bnn.train`` run (see :mod:`backend.params`)."""
from __future__ import annotations

from dataclasses import dataclass

from backend.params import Params, param

METHODS = ("ste-sgd", "ste-adam", "metaquant", "fsg")
METHOD_TITLES = {"ste-sgd": "STE + SGD", "ste-adam": "STE + Adam", "metaquant": "Fast net (MetaQuant)",
                 "fsg": "FSG (fast + slow)"}
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3}


@dataclass
class BnnTrainParams(Params):
    """Pretrain a network in full precision, binarise its weights (DoReFa, W1A32) and fine-tune them
    with one gradient method; reports training loss, test accuracy, sign flips, gradient
    histograms and time per epoch."""

    label = "bnn"

    method: str = param("fsg", title="Method", choices=METHODS,
                        help="gradient method for the binary weights")
    epochs: int = param(20, title="Epochs", min=1, max=10000, help="binary fine-tuning epochs")
    seed: int = param(0, title="Seed", min=0, help="split, initialisation and batch order")
    pretrain_epochs: int = param(15, title="Pretrain epochs", min=0, max=10000,
                                 help="full-precision epochs (Adam) before binarising")
    batch_size: int = param(64, title="Batch size", min=1, max=65536)
    hidden: int = param(128, title="Hidden width", min=4, max=4096,
                        help="MLP width (images: conv channels are width/16 and width/8)")
    test_fraction: float = param(0.2, title="Test fraction", min=0.05, max=0.5, advanced=True,
                                 help="stratified share of the data held out for test accuracy")
    optimizer: str = param("auto", title="Weight optimiser", choices=("auto", "sgd", "adam"), advanced=True,
                           help="optimiser of the latent weights; auto: SGD for ste-sgd, Adam otherwise "
                                "(the FSG reference refines the learned gradient with Adam)")
    lr: float = param(0.0, title="Learning rate", min=0.0, log=True, advanced=True,
                      help="weight learning rate; 0 = 0.1 for SGD, 1e-3 for Adam")
    alpha: float = param(0.9, title="α (slow share)", min=0.0, max=1.0, advanced=True,
                         help="FSG: meta gradient = α·slow + (1−α)·c⊙fast")
    history: int = param(5, title="History length", min=1, max=64, advanced=True,
                         help="FSG: past gradients per weight the slow net reads")
    combine: str = param("reference", title="Combine", choices=("reference", "paper"), advanced=True,
                         help="FSG: reference = the slow gradient only moves the look-ahead weights, the stored "
                              "weights get c⊙fast (released code); paper = both get α·slow + (1−α)·c⊙fast")
    slow_net: str = param("gru", title="Slow net", choices=("gru", "zero"), advanced=True,
                          help="FSG: gru = recurrent net over each weight's history; "
                               "zero = output forced to 0 (ablation)")
    lre: bool = param(True, title="Layer embedding", advanced=True,
                      help="FSG: prepend the layer recognition embedding to each history")
    fast_net: str = param("linear", title="Fast net", choices=("linear", "mlp", "one"), advanced=True,
                          help="linear = reference default (no nonlinearity); mlp = with ReLUs; "
                               "one = output fixed to 1")
    fast_hidden: int = param(100, title="Fast-net width", min=1, max=1024, advanced=True)
    slow_hidden: int = param(8, title="Slow-net width", min=1, max=256, advanced=True)
    fast_lr: float = param(1e-2, title="Fast-net lr", min=0.0, log=True, advanced=True, help="Adam lr of the fast net")
    slow_lr: float = param(1e-3, title="Slow-net lr", min=0.0, log=True, advanced=True, help="Adam lr of the slow net")
    threads: int = param(1, title="CPU threads", min=1, max=256, advanced=True,
                         help="torch threads while the run trains (the nets are small: one thread avoids contention)")
    hist_bins: int = param(41, title="Histogram bins", min=5, max=401, advanced=True,
                           help="bins of the per-epoch gradient histograms")

    def weight_optimizer(self) -> str:
        if self.optimizer != "auto":
            return self.optimizer
        return "sgd" if self.method == "ste-sgd" else "adam"

    def weight_lr(self) -> float:
        return self.lr if self.lr > 0 else DEFAULT_LR[self.weight_optimizer()]
