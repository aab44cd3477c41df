"""Position embeddings as a drop-in for Llama/Qwen2-style HF models: RoPE, FoPE, NoPE, ALiBi.

FoPE (Fourier Position Embedding, arXiv 2412.17739) makes each rotary dimension a Fourier
series over several frequencies and clips the frequencies that cannot complete one period in
the training window to zero. This package reproduces the construction of the official code
(see ``docs/fope.md`` for the choices), trains tiny char-level LMs with each variant, and
measures perplexity and key-value recall against the evaluation length.

Modules: ``settings`` (Params classes and the saved position config), ``encodings`` (the four
position modules and the spectrum), ``attention`` (patching an HF model's attention), ``model``
(tiny model, save/load, convert), ``data`` (text, char tokenizer, needle task), ``train``,
``evaluate``, ``corpora`` (offline sample texts), ``jobs``/``cli`` (entry points).
Heavy imports (torch, transformers) stay inside the modules that need them.
"""
