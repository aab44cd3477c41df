"""A synthetic knowledge base in the BEIR layout, with known answers, of any size.

Each document is an entity with a unique (kind, region, year) triple, so a question naming the
triple has exactly one relevant document, and two facts a question can ask for (stone colour,
who named it). Titles are invented two-part names ("Velmora Tarn"), unique by construction.

Test queries ask for the colour, training queries (the relevance-feedback set) ask who named
it, in a different wording: calibration never sees a test question.
"""
from __future__ import annotations

import random
from pathlib import Path

from backend.retrieval.beir import Doc, Query, write_corpus, write_qrels, write_queries

_ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr",
           "kr", "st", "th", "tr", "sh"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
_CODAS = ["", "n", "r", "l", "s", "th", "m"]
KINDS = {"lake": "Tarn", "river": "Water", "hill": "Knoll", "town": "Ford", "castle": "Keep", "forest": "Wood",
         "bridge": "Span", "harbour": "Haven"}
REGIONS = ["Ostrava", "Belmar", "Corvin", "Dunmere", "Eskar", "Falmouth", "Garnet", "Halden", "Ironvale", "Jorvik",
           "Kestrel", "Lindow", "Marrow", "Northop", "Oakhurst", "Pellam", "Quarry", "Rookwood", "Sable", "Thornby",
           "Umber", "Varden", "Westmoor", "Yarrow", "Zenith", "Ashby", "Brisk", "Calder", "Deepdale", "Elmstead"]
COLOURS = ["teal", "amber", "crimson", "ivory", "slate", "ochre", "violet", "jade", "copper", "silver", "rust",
           "pearl"]
NAMERS = ["Harlan", "Miriel", "Osric", "Tamsin", "Bertram", "Elspeth", "Garrick", "Rowena", "Anselm", "Isolde",
          "Cedric", "Wynne", "Leofric", "Maud", "Edwin", "Sigrid"]
YEARS = range(1500, 2000)


def _syllable(rng: random.Random) -> str:
    return rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)


def make_kb(n_docs: int, seed: int = 0) -> tuple[list[Doc], list[Query], list[Query], dict[str, str]]:
    """``(docs, test_queries, train_queries, qrel)`` where ``qrel[query_id] = doc_id``."""
    rng = random.Random(seed)
    triples: set[tuple[str, str, int]] = set()
    names: set[str] = set()
    docs: list[Doc] = []
    test: list[Query] = []
    train: list[Query] = []
    qrel: dict[str, str] = {}
    limit = len(KINDS) * len(REGIONS) * len(YEARS)
    if n_docs > limit:
        raise ValueError(f"at most {limit} synthetic documents (asked for {n_docs})")
    while len(docs) < n_docs:
        kind = rng.choice(list(KINDS))
        triple = (kind, rng.choice(REGIONS), rng.choice(YEARS))
        name = (_syllable(rng) + _syllable(rng)).capitalize() + " " + KINDS[kind]
        if triple in triples or name in names:
            continue
        triples.add(triple)
        names.add(name)
        _, region, year = triple
        colour, namer = rng.choice(COLOURS), rng.choice(NAMERS)
        did = f"d{len(docs)}"
        text = (f"{name} is a {kind} in the region of {region}, first recorded in {year}. "
                f"Stone colour: {colour}. Named by: {namer}.")
        docs.append(Doc(did, name, text))
        test.append(Query(f"q{len(docs) - 1}", f"What is the stone colour of the {kind} in {region} first "
                                               f"recorded in {year}?", [colour]))
        train.append(Query(f"t{len(docs) - 1}", f"Who named the {region} {kind} of {year}?", [namer]))
        qrel[test[-1].id] = did
        qrel[train[-1].id] = did
    return docs, test, train, qrel


def write_kb(folder: str | Path, n_docs: int, seed: int = 0) -> Path:
    """Write corpus.jsonl, queries.jsonl (test + train queries), qrels/test.tsv and qrels/train.tsv."""
    folder = Path(folder)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    docs, test, train, qrel = make_kb(n_docs, seed)
    write_corpus(folder / "corpus.jsonl", docs)
    write_queries(folder / "queries.jsonl", test + train)
    write_qrels(folder / "qrels" / "test.tsv", [(q.id, qrel[q.id], 1) for q in test])
    write_qrels(folder / "qrels" / "train.tsv", [(q.id, qrel[q.id], 1) for q in train])
    return folder
