"""Equation discovery: governing equations (and coordinates) from time-series data.

The pipeline is SINDy-shaped: load and check data -> derivatives -> candidate library ->
sparse regression -> a sympy system that can be simulated for extrapolation. Around it sit the
coordinate finders for high-dimensional data (PCA, an autoencoder, an object tracker), the
visual prompts and the proposer loop in which a (multimodal) model suggests library terms.

Submodules are imported on demand; this package never imports Qt.
"""
