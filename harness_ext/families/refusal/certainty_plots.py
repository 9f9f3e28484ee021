"""CRaFT certainty in the report: AUROC of certainty for correctness and refusal, reliability plot.

For every task whose samples hold CRaFT read-outs (``refusal_overrate_craft``): the AUROC table of
:func:`harness_ext.metrics.certainty.certainty_aurocs` (95% bootstrap intervals over questions)
and the reliability plot, accuracy under the basic prompt by certainty decile, with mean Cor
(CRaFT, arXiv 2410.06913, §3.1) per decile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness_ext.metrics.certainty import certainty_aurocs, question_rows, reliability
from harness_ext.report.plots import Plot, _save, _write_data, plt


def _has_readouts(task: Any) -> bool:
    return any(s.doc.get("variant") == "certainty" for s in task.samples)


def certainty_plots(run: Any, out: Path) -> list[Plot]:
    """One reliability plot per CRaFT task, plus its AUROC table (``certainty_auroc_<task>``)."""
    made = []
    for name, task in run.tasks.items():
        if not _has_readouts(task):
            continue
        rows = question_rows(task.samples)
        table = reliability(rows)
        if not table:
            continue
        aurocs = certainty_aurocs(rows)
        _write_data(out, f"certainty_auroc_{name}", aurocs)
        made.append(plot_reliability(name, table, aurocs, out))
    return made


def plot_reliability(task: str, table: list[dict[str, Any]], aurocs: list[dict[str, Any]], out: Path) -> Plot:
    """Accuracy (basic prompt) and mean Cor against mean certainty per decile; AUROCs in the title."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    xs = [r["certainty_mean"] for r in table]
    ax.plot(xs, [r["accuracy"] for r in table], marker="o", label="accuracy (basic prompt)")
    ax.plot(xs, [r["cor_mean"] for r in table], marker="s", linestyle="--", label="mean Cor = p(gold)")
    for r in table:
        ax.annotate(f"n={r['n']}", (r["certainty_mean"], r["accuracy"]), fontsize=6, xytext=(2, 4),
                    textcoords="offset points")  # fmt: skip
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("certainty Cer = sum p log p (decile mean)")
    ax.set_ylabel("share")
    parts = [f"{a['target']}: {a['auroc']:.2f} [{a['low']:.2f}, {a['high']:.2f}]" for a in aurocs]
    ax.set_title(f"{task}: reliability\nAUROC " + "; ".join(parts), fontsize=7)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, out, f"certainty_reliability_{task}", f"Certainty reliability: {task}", table)
