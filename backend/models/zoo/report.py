"""Human-readable figures of a zoo manifest (CLI summary, bench script)."""
from __future__ import annotations


def format_figures(fig: dict) -> str:
    lines = []
    tasks = fig.get("tasks", {})
    acc = tasks.get("accuracy", {})
    if acc:
        names = list(next(iter(acc.values())).keys())
        lines.append("task exact match (rows: model, cols: task, n=%s each):" % tasks.get("n_eval"))
        lines.append("  %-16s" % "" + "".join(f"{t:>8}" for t in names))
        for model, row in acc.items():
            lines.append("  %-16s" % model + "".join(f"{100 * row[t]:7.1f}%" for t in names))
        lines.append("  margin over base:   " + ", ".join(f"{t} {100 * v:+.1f}"
                                                         for t, v in tasks.get("margin_over_base", {}).items()))
        lines.append("  margin over others: " + ", ".join(
            f"{t} {100 * v:+.1f}" for t, v in tasks.get("margin_over_other_finetunes", {}).items()))
    pol = fig.get("policy")
    if pol:
        maj = f"maj@{pol.get('votes')}"
        lines.append(f"policy (level {pol.get('level')}, n={pol.get('n')}): greedy {100 * pol['greedy']:.1f}%, "
                     f"{maj} {100 * pol.get(maj, 0):.1f}%, sample pass@1 {100 * pol.get('sample_pass1', 0):.1f}% "
                     f"(T={pol.get('temperature')})")
        lines.append("  greedy by level: " + ", ".join(f"L{k} {100 * v:.0f}%"
                                                       for k, v in pol.get("greedy_by_level", {}).items()))
    prm = fig.get("prm")
    if prm:
        lines.append(f"PRM: ROC AUC {prm['roc_auc']:.3f} on {prm['n_steps']} held-out policy steps "
                     f"({prm['n_positive']} correct), accuracy@0.5 {100 * prm['accuracy@0.5']:.1f}%")
    gen = fig.get("genprm")
    if gen:
        lines.append(f"GenPRM: verdict agreement {100 * gen['agreement']:.1f}% on {gen['n_steps']} held-out steps, "
                     f"snippets ran {100 * gen['snippets_ran']:.1f}%, ROC AUC {gen['roc_auc']:.3f}")
    return "\n".join(lines)
