"""Reading and writing the BEIR layout: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/*.tsv``.

Every problem is one line naming the file and the line (``ValueError``), so the CLI prints
``error: corpus.jsonl:7: ...`` and the panel shows the same sentence. Duplicate ids are refused:
an identifier must name exactly one document.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from backend.workspace.atomic import atomic_write_text


@dataclass
class Doc:
    id: str
    title: str
    text: str


@dataclass
class Query:
    id: str
    text: str
    answers: list[str] = field(default_factory=list)   # optional, for "contains the answer" feedback


def _read_jsonl(path: Path, what: str) -> list[tuple[int, dict]]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: {what} file does not exist")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{no}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{no}: expected a JSON object, got {type(obj).__name__}")  # noqa: TRY004 - bad input file, one line
            rows.append((no, obj))
    if not rows:
        raise ValueError(f"{path}: {what} file is empty")
    return rows


def _id_of(obj: dict, path: Path, no: int) -> str:
    if "_id" not in obj:
        raise ValueError(f"{path}:{no}: missing '_id'")
    value = obj["_id"]
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise ValueError(f"{path}:{no}: '_id' must be a non-empty string")
    return str(value)


def _text(obj: dict, key: str, path: Path, no: int, required: bool) -> str:
    if key not in obj:
        if required:
            raise ValueError(f"{path}:{no}: missing '{key}'")
        return ""
    if not isinstance(obj[key], str):
        raise ValueError(f"{path}:{no}: '{key}' must be a string")  # noqa: TRY004
    return obj[key]


def load_corpus(path: str | Path) -> list[Doc]:
    """Documents of a BEIR ``corpus.jsonl`` (``_id``, ``text``, optional ``title``), in file order."""
    path = Path(path)
    docs: list[Doc] = []
    seen: dict[str, int] = {}
    for no, obj in _read_jsonl(path, "corpus"):
        did = _id_of(obj, path, no)
        if did in seen:
            raise ValueError(f"{path}:{no}: duplicate document id {did!r} (first on line {seen[did]})")
        seen[did] = no
        text = _text(obj, "text", path, no, required=True)
        title = _text(obj, "title", path, no, required=False)
        if not text.strip() and not title.strip():
            raise ValueError(f"{path}:{no}: document {did!r} has neither title nor text")
        docs.append(Doc(did, title.strip(), text.strip()))
    return docs


def load_queries(path: str | Path) -> list[Query]:
    """Queries of a BEIR ``queries.jsonl``; answers from ``answers`` or ``metadata.answers`` if present."""
    path = Path(path)
    out: list[Query] = []
    seen: dict[str, int] = {}
    for no, obj in _read_jsonl(path, "queries"):
        qid = _id_of(obj, path, no)
        if qid in seen:
            raise ValueError(f"{path}:{no}: duplicate query id {qid!r} (first on line {seen[qid]})")
        seen[qid] = no
        text = _text(obj, "text", path, no, required=True)
        if not text.strip():
            raise ValueError(f"{path}:{no}: query {qid!r} has empty text")
        answers = obj.get("answers", (obj.get("metadata") or {}).get("answers", []))
        if isinstance(answers, str):
            answers = [answers]
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise ValueError(f"{path}:{no}: 'answers' must be a list of strings")
        out.append(Query(qid, text.strip(), [a for a in answers if a.strip()]))
    return out


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``query-id -> {corpus-id: score}`` from a BEIR qrels TSV (header line optional; score > 0 = relevant)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: qrels file does not exist")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if no == 1 and parts[0].strip().lower() in ("query-id", "query_id", "qid"):
                continue
            if len(parts) != 3:
                raise ValueError(f"{path}:{no}: expected 3 tab-separated columns "
                                 f"(query-id, corpus-id, score), got {len(parts)}")
            qid, did, score = (p.strip() for p in parts)
            try:
                value = int(float(score))
            except ValueError:
                raise ValueError(f"{path}:{no}: score {score!r} is not a number") from None
            if not qid or not did:
                raise ValueError(f"{path}:{no}: empty query-id or corpus-id")
            qrels.setdefault(qid, {})[did] = value
    if not qrels:
        raise ValueError(f"{path}: qrels file is empty")
    return qrels


def check_qrels(qrels: dict[str, dict[str, int]], docs: list[Doc], queries: list[Query], path: str | Path) -> None:
    """Refuse qrels naming unknown documents; queries without a judgement are fine (skipped)."""
    ids = {d.id for d in docs}
    for qid, rel in qrels.items():
        for did in rel:
            if did not in ids:
                raise ValueError(f"{path}: query {qid!r} names document {did!r}, which is not in the corpus")
    judged = {q.id for q in queries} & set(qrels)
    if not judged:
        raise ValueError(f"{path}: no query id of the queries file has a judgement here")


def write_jsonl(path: str | Path, rows: list[dict]) -> None:
    atomic_write_text(Path(path), "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def write_corpus(path: str | Path, docs: list[Doc]) -> None:
    write_jsonl(path, [{"_id": d.id, "title": d.title, "text": d.text} for d in docs])


def write_queries(path: str | Path, queries: list[Query]) -> None:
    write_jsonl(path, [{"_id": q.id, "text": q.text, **({"metadata": {"answers": q.answers}} if q.answers else {})}
                       for q in queries])


def write_qrels(path: str | Path, pairs: list[tuple[str, str, int]]) -> None:
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in pairs]
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
