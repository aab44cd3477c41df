"""TTRL: test-time reinforcement learning on unlabeled prompts (arXiv 2504.16084).

Each step samples N answers per prompt, takes the majority answer as a pseudo-label, rewards
the samples that agree with it, and updates the policy with GRPO. Ground truth, when the user
supplies it, is used only to *monitor* (label accuracy, pass@1, maj@N); it never reaches the
loss — the training batch is built from rollouts that carry no labels (see ``voting``).

Modules: ``config`` (settings), ``data`` (prompt files), ``sampler`` (batched seeded sampling),
``voting`` (pseudo-labels, rewards, advantages, step metrics), ``grpo`` (loss and update),
``checkpoint`` (save/resume/export), ``trainer`` (the loop), ``jobs``/``cli`` (entry points).
Heavy imports (torch, transformers) stay inside the modules that need them.
"""
