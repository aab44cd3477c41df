"""Settings of the retrieval jobs (one :class:`~backend.params.Params` class per job kind)."""
from __future__ import annotations

from dataclasses import dataclass

from backend.params import Params, param


@dataclass
class IndexParams(Params):
    """Index a corpus: fine-tune a causal LM to emit each document's identifier from its pseudo-queries."""

    model: str = param("zoo:arith-base", title="Model",
                       help="HF causal LM folder, zoo:NAME, or 'scratch' (a fresh small Llama, char tokenizer)")
    steps: int = param(400, title="Steps", min=1, help="training steps (batches of pseudo-queries)")
    batch: int = param(32, title="Batch", min=1, max=4096)
    lr: float = param(3e-3, title="Learning rate", min=0.0, min_exclusive=True, log=True)
    identifier: str = param("title", title="Identifier", choices=("title", "id"),
                            help="what the model emits for a document: its title (ids on a clash) or its _id")
    keyword_share: float = param(0.5, title="Keyword queries", min=0.0, max=1.0, advanced=True,
                                 help="share of training examples that are a random bag of the document's words "
                                      "(title words left out) instead of its title or a sentence")
    max_query_tokens: int = param(160, title="Query tokens", min=8, max=4096, advanced=True,
                                  help="pseudo-queries and queries are cut to this many tokens")
    hidden: int = param(96, title="Scratch width", min=8, max=4096, advanced=True,
                        help="hidden size of a 'scratch' model")
    seed: int = param(0, title="Seed", min=0)


@dataclass
class EvalParams(Params):
    """Evaluate the generative retriever (constrained, unconstrained) against BM25, optionally calibrated."""

    beams: int = param(10, title="Beams", min=1, max=256, help="beam width = documents returned per query")
    max_queries: int = param(0, title="Max queries", min=0, help="evaluate on the first N judged queries (0 = all)")
    calibrate: bool = param(False, title="Calibrate", help="DPO from relevance feedback on the training queries")
    dpo_beta: float = param(0.1, title="DPO beta", min=0.0, min_exclusive=True, help="DPO temperature")
    dpo_steps: int = param(60, title="DPO steps", min=1)
    dpo_lr: float = param(1e-3, title="DPO learning rate", min=0.0, min_exclusive=True, log=True)
    dpo_batch: int = param(16, title="DPO batch", min=1, max=4096, advanced=True)
    feedback: str = param("gold_or_answer", title="Feedback", choices=("gold", "answer", "gold_or_answer"),
                          help="which returned documents count as preferred: judged relevant, containing the "
                               "answer, or either")
    feedback_queries: int = param(200, title="Feedback queries", min=1, help="training queries used for feedback")
    top_k_answer: int = param(3, title="Reader k", min=1, max=100, help="documents given to the answer reader")
    seed: int = param(0, title="Seed", min=0)


@dataclass
class SearchParams(Params):
    """One query: the ranked documents of constrained decoding with its beam trace, beside BM25's."""

    query: str = param("", title="Query", help="the question to search for")
    beams: int = param(10, title="Beams", min=1, max=256)
    constrained: bool = param(True, title="Constrained", help="restrict beams to the identifier trie")

    def check(self) -> None:
        if not self.query.strip():
            raise ValueError("Query (query): must not be empty")
