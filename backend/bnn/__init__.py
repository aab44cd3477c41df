"""Binary-weight networks: STE against learned gradients (MetaQuant, FSG — arXiv 2412.11777).

A full-precision network is pretrained, then its weights are binarised with the DoReFa 1-bit
forward (activations stay full precision, W1A32 as in FSG's code) and fine-tuned with one of four
gradient methods: STE with plain SGD, STE with Adam, a fast-net-only learned gradient
(MetaQuant-style) and FSG (fast net + a slow net over each weight's gradient history + layer
recognition embeddings + the look-ahead virtual update).

Modules: ``params`` (settings), ``data`` (built-in sets and user ``.npz`` files, validated),
``binary`` (the quantiser and the networks), ``hypernets`` (fast and slow nets), ``trainer``
(pretraining and the four methods), ``stats`` (seed statistics for the bench and the panel),
``jobs``/``cli`` (entry points). torch is imported only inside the modules that need it.
"""
