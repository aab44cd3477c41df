"""Generative retrieval: BEIR parsing, the trie, exact constrained beam search, DPO, eval and the CLI."""
from __future__ import annotations

import json
import math

import pytest

from backend.retrieval.beir import (
    Doc,
    load_corpus,
    load_qrels,
    load_queries,
    write_corpus,
)
from backend.retrieval.trie import Trie


@pytest.fixture(autouse=True)
def _one_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_beir_files_name_file_and_line(tmp_path):
    bad = _write(tmp_path / "corpus.jsonl", '{"_id": "a", "text": "x"}\n{oops\n')
    with pytest.raises(ValueError, match=r"corpus\.jsonl:2: not valid JSON"):
        load_corpus(bad)
    dup = _write(tmp_path / "dup.jsonl", '{"_id": "a", "text": "x"}\n\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(ValueError, match=r"dup\.jsonl:3: duplicate document id 'a' \(first on line 1\)"):
        load_corpus(dup)
    with pytest.raises(ValueError, match=r"c2\.jsonl:1: missing '_id'"):
        load_corpus(_write(tmp_path / "c2.jsonl", '{"text": "x"}\n'))
    with pytest.raises(ValueError, match=r"c3\.jsonl:1: 'text' must be a string"):
        load_corpus(_write(tmp_path / "c3.jsonl", '{"_id": "a", "text": 5}\n'))
    with pytest.raises(ValueError, match=r"q\.jsonl:2: duplicate query id 'q'"):
        load_queries(_write(tmp_path / "q.jsonl", '{"_id": "q", "text": "a"}\n{"_id": "q", "text": "b"}\n'))
    with pytest.raises(ValueError, match=r"r\.tsv:2: expected 3 tab-separated columns"):
        load_qrels(_write(tmp_path / "r.tsv", "query-id\tcorpus-id\tscore\nq1 d1 1\n"))
    with pytest.raises(ValueError, match=r"s\.tsv:1: score 'x' is not a number"):
        load_qrels(_write(tmp_path / "s.tsv", "q1\td1\tx\n"))
    q = load_queries(_write(tmp_path / "ok.jsonl", '{"_id": 1, "text": "hi", "metadata": {"answers": ["yo"]}}\n'))
    assert q[0].id == "1" and q[0].answers == ["yo"]


def test_trie_allows_only_real_continuations_and_refuses_clashes():
    t = Trie()
    t.add([5, 6, 2], "a")
    t.add([5, 6, 7, 2], "b")          # "a" is a prefix of "b": the beam may stop or go on
    t.add([8, 2], "c")
    assert sorted(t.allowed([])) == [5, 8] and sorted(t.allowed([5, 6])) == [2, 7]
    assert t.allowed([9]) == [] and t.lookup([5, 6, 2]) == "a" and t.lookup([5, 6]) is None
    assert t.depth() == 4
    with pytest.raises(ValueError, match="same identifier tokens"):
        t.add([8, 2], "d")


def _awkward_corpus():
    """Shared prefixes, a title that prefixes another, a clash, an empty title, odd characters."""
    return [Doc("d1", "Ab", "first doc about apples."), Doc("d2", "Abc", "second doc about bananas."),
            Doc("d3", "Abc", "third doc, same title as d2."), Doc("d4", "", "no title, only cherries."),
            Doc("d5", "Zürich ☃", "odd characters in the title."), Doc("d6", "Q", "one-letter title.")]


def test_constrained_search_returns_only_real_documents_with_exact_scores(tmp_path):
    import torch

    from backend.retrieval import model as M
    from backend.retrieval.index import build_index, identifiers, load_index
    from backend.retrieval.params import IndexParams
    from backend.retrieval.search import beam_search

    docs = _awkward_corpus()
    ident = identifiers(docs, "title")
    assert ident["d1"] == "Ab" and ident["d2"] == "Abc [d2]" and ident["d3"] == "Abc [d3]" and ident["d4"] == "[d4]"
    write_corpus(tmp_path / "corpus.jsonl", docs)
    build_index(tmp_path / "corpus.jsonl", tmp_path / "idx", IndexParams(model="scratch", steps=3, batch=4, hidden=32))
    idx = load_index(tmp_path / "idx")
    prompt = M.prompt_ids(idx.tok, "which doc has apples?", idx.max_query_tokens)
    res = beam_search(idx.model, idx.tok, prompt, idx.trie, beams=len(docs), trace=True)
    # every document is reachable and every hit is a real, distinct document
    assert sorted(h.doc_id for h in res.hits) == sorted(d.id for d in docs)
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    for h in res.hits[:3]:          # the beam score is the model's own sequence log-probability
        with torch.no_grad():
            lp = torch.log_softmax(idx.model(input_ids=torch.tensor([prompt + h.tokens])).logits[0].float(), -1)
        full = sum(lp[len(prompt) - 1 + j, t].item() for j, t in enumerate(h.tokens))
        assert h.score == pytest.approx(full, abs=1e-3)
    assert res.trace and res.trace[0][0]["allowed"] == len(idx.trie.allowed([]))
    free = beam_search(idx.model, idx.tok, prompt, idx.trie, beams=4, constrained=False)
    assert len(free.hits) == 4 and all(h.doc_id is None or h.doc_id in ident for h in free.hits)


def test_dpo_raises_the_preferred_identifier(tmp_path):
    from backend.retrieval import model as M
    from backend.retrieval.dpo import _seq_logp, dpo_train

    model, tok = M.load("scratch", hidden=32)
    prompt = M.prompt_ids(tok, "where are the apples?", 64)
    win, lose = M.identifier_ids(tok, "Ab"), M.identifier_ids(tok, "Zed")
    import torch

    def margin():
        with torch.no_grad():
            lp = _seq_logp(model, [(prompt, win), (prompt, lose)], tok.pad_token_id)
        return float(lp[0] - lp[1])

    before = margin()
    curve = dpo_train(model, tok, [(prompt, win, lose)], beta=0.5, steps=8, lr=3e-3, batch=1)
    assert curve[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)    # policy == reference at step 1
    assert curve[-1]["loss"] < curve[0]["loss"] and margin() > before


def test_reader_answers_from_the_right_document():
    from backend.retrieval.reader import correct, read
    from backend.retrieval.synth import make_kb

    docs, test, train, qrel = make_kb(20, seed=3)
    by_id = {d.id: d for d in docs}
    q = test[4]
    assert correct(read(q.text, [by_id[qrel[q.id]]]), q.answers)
    others = [d for d in docs if d.id != qrel[q.id]][:3]
    assert read(q.text, []) == ""
    assert read(q.text, others + [by_id[qrel[q.id]]]) == read(q.text, [by_id[qrel[q.id]]])
    assert correct(read(train[4].text, [by_id[qrel[train[4].id]]]), train[4].answers)


def test_cli_index_eval_calibrate_and_errors(tmp_path, capsys):
    from backend.cli import main as cli_main

    ws = str(tmp_path / "ws")
    assert cli_main(["retrieval", "synth", str(tmp_path / "kb"), "--docs", "12", "--json"]) == 0
    kb = json.loads(capsys.readouterr().out)
    rc = cli_main(["--workspace", ws, "retrieval", "index", kb["corpus"], "--out", str(tmp_path / "idx"),
                   "--model", "scratch", "--steps", "4", "--batch", "4", "--hidden", "32", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["status"] == "succeeded", res
    assert res["result"]["docs"] == 12 and (tmp_path / "idx" / "model" / "config.json").is_file()
    rc = cli_main(["--workspace", ws, "retrieval", "eval", str(tmp_path / "idx"), "--queries", kb["queries"],
                   "--qrels", kb["qrels"][0], "--calibrate", "--beams", "4", "--max-queries", "5",
                   "--feedback-queries", "4", "--dpo-steps", "2", "--dpo-batch", "2", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["status"] == "succeeded", res
    r = res["result"]
    for name in ("constrained", "unconstrained", "bm25", "calibrated"):
        assert {"recall@1", "recall@10", "mrr", "invalid_rate", "latency_ms"} <= set(r[name])
        assert r[name]["queries"] == 5
    assert r["constrained"]["invalid_rate"] == 0.0 and r["calibrated"]["invalid_rate"] == 0.0
    assert 0.0 <= r["unconstrained"]["invalid_rate"] <= 1.0
    assert r["bm25"]["recall@1"] >= 0.8          # lexical questions: BM25 at its defaults finds them
    assert r["answers"]["oracle"] == 1.0 and r["calibration"]["curve"][0]["loss"] == pytest.approx(math.log(2), 1e-4)
    # bad input: one line naming the file (and line), exit 2
    bad = _write(tmp_path / "bad.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    assert cli_main(["--workspace", ws, "retrieval", "index", str(bad), "--out", str(tmp_path / "i2")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "bad.jsonl:2: duplicate document id 'a'" in err and "\n" not in err
    assert cli_main(["--workspace", ws, "retrieval", "eval", str(tmp_path), "--queries", kb["queries"],
                     "--qrels", kb["qrels"][0]]) == 2
    assert "not a retrieval index" in capsys.readouterr().err
    assert cli_main(["--workspace", ws, "retrieval", "eval", str(tmp_path / "idx"), "--queries", kb["queries"],
                     "--qrels", kb["qrels"][0], "--beams", "0"]) == 2
    assert "error:" in capsys.readouterr().err


def test_constrained_decoding_is_never_invalid_on_random_corpora():
    """Random titles (shared prefixes, prefixes of each other, any characters), an untrained model:
    every returned sequence of constrained decoding is a real document; free decoding is scored."""
    import random

    from backend.retrieval import model as M
    from backend.retrieval.index import identifiers
    from backend.retrieval.search import beam_search

    model, tok = M.load("scratch", hidden=16, seed=1)
    model.eval()
    rng = random.Random(0)
    for _ in range(2):
        docs, seen = [], set()
        while len(docs) < 15:
            title = "".join(rng.choice("abAB c-é") for _ in range(rng.randint(1, 6)))
            if tuple(M.identifier_ids(tok, title)) in seen:
                continue                      # identical token sequences are refused at indexing
            seen.add(tuple(M.identifier_ids(tok, title)))
            docs.append(Doc(f"d{len(docs)}", title, "x"))
        ident = identifiers(docs, "title")
        trie = Trie()
        for d in docs:
            trie.add(M.identifier_ids(tok, ident[d.id]), d.id)
        for q in ("abc", "what?"):
            prompt = M.prompt_ids(tok, q, 32)
            hits = beam_search(model, tok, prompt, trie, beams=6).hits
            assert len(hits) == 6 and all(h.doc_id in ident for h in hits)
            assert len({h.doc_id for h in hits}) == 6
            free = beam_search(model, tok, prompt, trie, beams=6, constrained=False).hits
            assert all((h.doc_id is None) == (trie.lookup(h.tokens) is None) for h in free)
