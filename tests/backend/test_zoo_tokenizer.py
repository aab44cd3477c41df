"""The zoo's char tokenizer round-trips every format exactly through AutoTokenizer."""
from __future__ import annotations

import pytest

TEXTS = [
    "Problem: 12+7=?\nStep 1: 12+7=19\nAnswer: 19",
    "Problem: ((12+7)*3)-5\nStep 1: 12+7=19\nStep 2: 19*3=57\nStep 3: 57-5=52\nAnswer: 52",
    "<analyze>Step 2 claims 19*3=57; recompute the chain.</analyze>\n<verify>\nprint((12+7)*3==57 and 19*3==57)\n"
    "</verify>\n<output>\nTrue\n</output>\nVerdict: Yes",
    "rev(abcde)=edcba  Not No\tYes ?!",
]


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    from transformers import AutoTokenizer

    from backend.models.zoo.tokenizer import build_tokenizer, save_tokenizer

    folder = tmp_path_factory.mktemp("tok")
    save_tokenizer(build_tokenizer(), folder)
    assert {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} <= {p.name for p in folder.iterdir()}
    return AutoTokenizer.from_pretrained(folder)


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(tok, text):
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id
    assert tok.unk_token_id not in ids
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_special_tokens_distinct_and_chars_single(tok):
    specials = {tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id}
    assert len(specials) == 4
    body = tok("Step 1: 12+7=19", add_special_tokens=False)["input_ids"]
    assert len(body) == len("Step 1: 12+7=19") and not specials & set(body)


def test_verdict_words_have_distinct_first_tokens(tok):
    yes = tok.encode(" Yes", add_special_tokens=False)
    no = tok.encode(" No", add_special_tokens=False)
    assert yes[0] != no[0]
    assert tok.encode("</verify>", add_special_tokens=False) == [tok.convert_tokens_to_ids("</verify>")]
