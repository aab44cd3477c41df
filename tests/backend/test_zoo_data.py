"""Zoo text formats: chain problems, step labels, synthetic slips, AUC and GenPRM snippets."""
from __future__ import annotations

import numpy as np

from backend.models.zoo import tasks as T
from backend.models.zoo import verifiers as V


def test_problems_evaluate_as_written_and_are_deterministic():
    a = T.problem_set(30, np.random.default_rng(5))
    b = T.problem_set(30, np.random.default_rng(5))
    assert [p.text for p in a] == [p.text for p in b]
    for p in a:
        assert eval(p.text) == p.answer  # noqa: S307 - our own arithmetic strings
        assert len(p.steps()) == len(p.ops) == T.LEVELS[p.level][0]
        assert all(0 <= v <= T.MAX_VALUE for v in p.values())
        steps, ans = T.parse_solution(p.solution())
        assert steps == p.steps() and ans == str(p.answer)
        assert T.step_labels(p, steps) == [1] * len(steps)


def test_step_labels_propagate_the_first_error():
    p = T.Problem(12, [("+", 7), ("*", 3), ("-", 5)], 3)
    assert T.step_labels(p, ["12+7=19", "19*3=57", "57-5=52"]) == [1, 1, 1]
    labels = T.step_labels(p, ["12+7=18", "18*3=54", "54-5=49"])
    assert labels == [0, 0, 0] and T.first_error(labels) == 0
    assert T.step_labels(p, ["12+7=19", "19*3=56", "56-5=51"]) == [1, 0, 0]
    assert T.step_labels(p, ["12+7=19", "19*3=57", "57-5=52", "52+1=53"]) == [1, 1, 1, 0]
    assert T.first_error([1, 1, 1]) == -1


def test_task_examples_are_correct():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p, a = T.task_example("add", rng)
        x, y = map(int, p[4:-2].split(","))
        assert int(a) == x + y
        p, a = T.task_example("upper", rng)
        assert a == p[6:-2].upper() and a.isalpha()


def test_pretraining_has_every_task_skill_but_no_task_format():
    """The base must be able to learn each task's skill, never its prompt format (docs/zoo.md,
    "Why the base knows the tasks' skills"): the fine-tunes teach formats, not skills."""
    from backend.models.zoo.stages import pretrain_docs

    rng = np.random.default_rng(3)
    lines = [ln for doc in pretrain_docs(400, rng) for ln in doc.split("\n")]
    products = [ln for ln in lines if "*" in ln and "=" in ln and int(ln.split("=")[1] or 0) > T.MAX_VALUE]
    capitals = [ln for ln in lines if "->" in ln]
    assert products and capitals
    for ln in products:
        a, d = map(int, ln.split("=")[0].split("*"))
        assert int(ln.split("=")[1]) == a * d
    for ln in capitals:
        low, up = ln.split("->")
        assert low.islower() and up == low.upper()
    text = "\n".join(lines)
    assert not any(f"{t}(" in text for t in T.TASKS)


def test_roc_auc():
    assert V.roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert V.roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert V.roc_auc([0.5, 0.5], [0, 1]) == 0.5


def test_genprm_snippets_run_and_decide_the_label():
    rng = np.random.default_rng(1)
    for p in T.problem_set(8, rng, levels=[3]):
        steps = V.corrupted_steps(p, rng, p_error=1.0)
        labels = T.step_labels(p, steps)
        k = labels.index(0) + 1
        prompt, completion = V.genprm_training_text(p, steps, k)
        assert prompt.endswith(f"Check step {k}: {steps[k - 1]}\n") and completion.endswith(" No")
        ok, out = V.run_snippet(V.extract_code(completion))
        assert ok and out.strip() == "False"
        if k > 1:
            ok, out = V.run_snippet(V.extract_code(V.genprm_critique(p, steps, 1)))
            assert ok and out.strip() == "True"


def test_genprm_snippet_output_matches_label_on_every_step():
    """The taught snippet prints what training says it prints, and that is the step label unless
    a step lands on the true value after an earlier slip."""
    rng = np.random.default_rng(3)
    for p in T.problem_set(6, rng, levels=[4]):
        steps = V.corrupted_steps(p, rng, p_error=1.0)
        labels = T.step_labels(p, steps)
        for k in range(1, len(steps) + 1):
            ok, out = V.run_snippet(V.extract_code(V.genprm_critique(p, steps, k)))
            assert ok and out.strip() == V.snippet_output(p, steps, k)
            if labels[k - 1] or steps[k - 1].split("=")[-1] != str(p.values()[k - 1]):
                assert out.strip() == str(bool(labels[k - 1]))


def test_policy_training_solutions_slip_at_the_requested_rate():
    from backend.models.zoo.stages import noisy_solution

    rng = np.random.default_rng(4)
    probs = T.problem_set(400, rng, levels=[3])
    texts = [noisy_solution(p, rng, 0.3) for p in probs]
    wrong = 0
    for p, text in zip(probs, texts):
        steps, answer = T.parse_solution(text)
        assert len(steps) == len(p.ops) and answer == steps[-1].split("=")[-1]
        wrong += 0 in T.step_labels(p, steps)
    assert 0.2 < wrong / len(probs) < 0.4


def test_genprm_snippet_runs_for_claims_that_are_not_int_literals():
    p = T.Problem(3, [("+", 4), ("*", 2)], level=1)
    for claim in ("07", "7x", "-"):
        steps = [f"3+4={claim}", "7*2=14"]
        ok, out = V.run_snippet(V.extract_code(V.genprm_critique(p, steps, 1)))
        assert ok and out.strip() == "False" == V.snippet_output(p, steps, 1)
