"""Test-time scaling: spend inference compute with a policy and a process reward model.

Strategies (majority vote, Best-of-N, weighted Best-of-N, beam search, DVTS) in
:mod:`backend.tts.strategies` and :mod:`backend.tts.tree`; budget sweeps and the
compute-optimal table in :mod:`backend.tts.sweep`; jobs ``tts.run`` / ``tts.sweep`` and the
``tts`` CLI. Generation itself lives in :mod:`backend.generation`.
"""
