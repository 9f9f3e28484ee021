"""The shape of the package: generic tools know no family, saved-run tools import no lm-eval.

- No generic module names a family or a task: adding a family is a package under
  ``harness_ext/families/`` (with its data loader, scorer and metrics), not an edit of ``report``,
  ``compare``, ``submit``, ``validate``, ``leaderboard`` or the CLI.
- ``harness-ext report/compare/submit/validate`` on a saved run import neither lm-eval, datasets
  nor torch (checked in a fresh interpreter on a committed reference run), and ``--help`` starts
  quickly.
- No module over 400 lines.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "harness_ext"

#: Family and task names that only family-specific code may contain.
NAMES = re.compile(r"sycophancy|bbq|refusal|winogender|xstest|craft|orbench", re.IGNORECASE)

#: Paths (relative to harness_ext/) allowed to name families, each with its reason.
EXEMPT: dict[str, str] = {
    "families/": "the families themselves: params, metrics hooks, lm-eval task adapters, plots",
    "data/": "one loader per upstream schema of a family, and the bundled data",
    "scoring/": "the families' deterministic scorers (answer parsing, admission, refusal classes)",
    "metrics/bbq.py": "BBQ's bias scores (Parrish et al. 2022)",
    "metrics/sycophancy.py": "SPT's sycophancy metrics",
    "metrics/refusal.py": "XSTest / OR-Bench / CRaFT refusal metrics",
    "metrics/certainty.py": "CRaFT's certainty and training split (refusal family)",
    "metrics/winogender.py": "Winogender read-out metrics",
    "spt/": "SPT head location and tuning on the sycophancy conversations",
    "probe/": "activation probes over the sycophancy conversations",
    "judging/": "the LLM-judge rubrics of the sycophancy and refusal families and `harness-ext score`",
    "leaderboard/canonical.json": "generated data: the recorded hashes of every leaderboard task",
}


def _exempt(rel: str) -> bool:
    return any(rel == e or (e.endswith("/") and rel.startswith(e)) for e in EXEMPT)


def test_generic_modules_name_no_family_or_task() -> None:
    hits = []
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not path.is_file() or "__pycache__" in rel or path.suffix == ".pyc" or _exempt(rel):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if NAMES.search(line):
                hits.append(f"harness_ext/{rel}:{n}: {line.strip()[:100]}")
    assert not hits, "generic modules name a family or task:\n" + "\n".join(hits)


def test_exempt_paths_exist() -> None:
    for rel in EXEMPT:
        assert (PACKAGE / rel.rstrip("/")).exists(), rel


def test_no_module_over_400_lines() -> None:
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, long


def test_every_family_has_a_descriptor_found_by_name() -> None:
    from harness_ext.registry import families
    from harness_ext.registry import leaderboard_tasks as registry_leaderboard

    fams = families()
    assert set(fams) == {"sycophancy", "bbq", "refusal", "winogender"}
    assert set(registry_leaderboard()) == {p for f in fams.values() for p in f.task_prefixes}
    for fam in fams.values():
        assert fam.task_prefixes and fam.report
        assert "task" not in fam.params.accepted()  # parameters, not lm-eval's keys


REF = ROOT / "results" / "smollm2"
_CHECK = """
import json, sys, time
t0 = time.perf_counter()
from harness_ext.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("lm_eval", "datasets", "torch", "transformers") if m in sys.modules)
pyplot = "matplotlib.pyplot" in sys.modules
print(json.dumps({"code": code, "heavy": heavy, "pyplot": pyplot, "seconds": time.perf_counter() - t0}))
"""


def _run(args: list[str], cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK, *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"stderr": proc.stderr}


@pytest.mark.parametrize(
    "family_dir", ["sycophancy_challenge", "bbq_selfcorrect", "refusal_overrate", "winogender_selfcorrect"]
)
def test_saved_run_tools_import_no_lm_eval(tmp_path: Path, family_dir: str) -> None:
    run = str(REF / family_dir)
    sub = tmp_path / "sub.json"
    for args in (
        ["report", run, "--out", str(tmp_path / "rep"), "--max-examples", "2"],
        ["compare", run, run, "--iters", "200"],
        ["submit", run, "--to", str(sub)],
        ["validate", str(sub)],
    ):
        out = _run(args, tmp_path)
        assert out["heavy"] == [], (args[0], out)
        assert out["pyplot"] == (args[0] == "report"), (args[0], out)  # matplotlib only to draw
        assert out["code"] in (0, 2), (args[0], out)
    # the committed runs are partial (--limit): that is the only reason validate gives
    reasons = [r for r in out["stderr"].splitlines() if r.startswith("  - ")]
    assert reasons and all("partial run" in r for r in reasons), reasons
    assert (tmp_path / "rep" / "index.html").is_file()


def test_help_starts_quickly() -> None:
    best = min(
        _timed([sys.executable, "-c", "from harness_ext.cli import main; main(['--help'])"]) for _ in range(2)
    )
    print(f"harness-ext --help: {best:.2f} s (python start-up included)")
    assert best < 3.0  # about 0.4 s measured; importing lm-eval alone takes longer than this bound


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - t0


TOY_FAMILY = """
from dataclasses import dataclass
from typing import Any

from harness_ext.family import Family, Params, bad_value
from harness_ext.metrics.core import Group, Metric, ratio

HITS = Group("toy_hits", "Toy hit rates", "rate")


@dataclass(frozen=True)
class ToyParams(Params):
    DATA_KEYS = ("source",)
    level: int = 1

    def check(self, family: str) -> None:
        if self.level not in (1, 2):
            raise bad_value(family, "level", "1 or 2", self.level)


def metrics(task: str, params: ToyParams, facts: Any) -> tuple[Metric, ...]:
    out = [Metric("hit_rate", ratio("hit", "n"), True, group=HITS, min_effect=0.2)]
    if params.level == 2:
        out.append(Metric("miss_rate", ratio("miss", "n"), False, lo=0.0, hi=1.0, leaderboard=False))
    return tuple(out)


FAMILY = Family("toy", ("toy_eval",), ToyParams, metrics, report=__name__ + ".report", leaderboard=("toy_eval",))
"""

TOY_REPORT = """
from harness_ext.report.plots import plot_bars


def plots(run, points, out):
    return [plot_bars([p for p in points if p.metric == "hit_rate"], out, "toy_only", "Toy", "rate")]
"""


def test_a_new_family_needs_no_edit_to_the_generic_tools(tmp_path: Path, monkeypatch) -> None:
    from harness_ext import registry
    from harness_ext.compare import min_effect_for
    from harness_ext.report.build import make_plots, task_points
    from harness_ext.runs import Run, Sample, TaskRun

    pkg = tmp_path / "toyfams" / "toy"
    pkg.mkdir(parents=True)
    (tmp_path / "toyfams" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text(TOY_FAMILY)
    (pkg / "report.py").write_text(TOY_REPORT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "FAMILIES_PACKAGE", "toyfams")
    registry.families.cache_clear()
    try:
        assert list(registry.families()) == ["toy"]
        config = {"metadata": {"provenance": {"family": "toy", "params": {"level": 2}}}}
        names = [m.name for m in registry.metrics_for_task("toy_eval_a", config)]
        assert names == ["hit_rate", "miss_rate"]
        # older results without the recorded family: the task-name prefix and the metadata
        assert len(registry.metrics_for_task("toy_eval_b", {"metadata": {"toy": {"level": 1}}})) == 1
        with pytest.raises(registry.RegistryError, match="'level' expected 1 or 2"):
            registry.metrics_for_task("toy_eval_b", {"metadata": {"level": 3}})
        with pytest.raises(registry.RegistryError, match="accepted keys: level, source"):
            registry.metrics_for_task("toy_eval_b", {"metadata": {"toy": {"levle": 1}}})
        assert registry.leaderboard_tasks() == ("toy_eval",)
        recs = [{"cluster": str(i), "n": 1, "hit": i % 2, "miss": 1 - i % 2} for i in range(8)]
        samples = [Sample(str(i), i, r, [], {}, "", "") for i, r in enumerate(recs)]
        task = TaskRun("toy_eval_a", config, 1, 0, {}, {}, {}, samples)
        hit = task.metrics[0]
        assert min_effect_for(hit, {}, 0.05) == 0.2
        run = Run(tmp_path / "r", {}, {task.name: task}, [])
        (tmp_path / "out").mkdir()
        made = {p.png for p in make_plots(run, task_points(task), tmp_path / "out")}
        assert made == {"toy_hits.png", "toy_only.png"}  # the metric group, the family's hook
    finally:
        registry.families.cache_clear()
