"""Cost of building the BBQ tasks on full-size data: ours next to lm-eval's own ``bbq``.

Writes BBQ's eleven-file layout at BBQ's size (58,492 items, generated in BBQ's schema by
``harness_ext.data.bbq_layout``) to a temporary folder, then, each in a fresh process:

- ``ours``: ``get_task_dict(["bbq_selfcorrect"])`` (five conditions) with
  ``--metadata '{"bbq": {"source": FOLDER}}'``, then a ``--limit 5`` run of the group with
  lm-eval's ``dummy`` model;
- ``lm-eval``: lm-eval 0.4.13's ``bbq`` task (``lm_eval/tasks/bbq/bbq_multiple_choice.yaml``),
  its YAML and ``utils.py`` copied to a temporary folder with ``dataset_path: json`` pointed at
  the same eleven files (it otherwise downloads ``oskarvanderwal/bbq``), with an empty
  ``HF_DATASETS_CACHE`` (a cold build, as a first run).

Printed per row: wall seconds and the peak resident memory above the process's memory after
importing lm-eval (``ru_maxrss``), for building the tasks and (ours) for the whole ``--limit 5``
run after it, with the target (under 10 s and 500 MB for the build); and the whole
``lm_eval --model dummy --tasks bbq_selfcorrect --limit 5`` command in a fresh process (its wall
time and its entire resident peak, imports included). Run:
``python benchmarks/bbq_build_cost.py``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Issue 10's budget for building the five tasks on the full BBQ, on 2 cores.
TARGET_S, TARGET_MB = 10.0, 500.0


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, folder: Path, work: Path) -> dict[str, float]:
    import lm_eval
    from lm_eval.tasks import TaskManager, get_task_dict

    base = _rss_mb()
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    if kind == "ours":
        tm = TaskManager(include_defaults=False, metadata={"bbq": {"source": str(folder)}})
        tasks = get_task_dict(["bbq_selfcorrect"], tm)
        out["build_s"] = time.perf_counter() - t0
        out["build_peak_mb"] = _peak_mb() - base
        t1 = time.perf_counter()
        lm_eval.simple_evaluate(
            model="dummy", tasks=["bbq_selfcorrect"], task_manager=tm, limit=5, bootstrap_iters=0
        )
        out["limit5_run_s"] = time.perf_counter() - t1
        out["limit5_peak_mb"] = _peak_mb() - base
        out["n_tasks"] = len([t for t in tasks.values()])
    else:
        import lm_eval.tasks.bbq as pkg

        src = Path(pkg.__path__[0])
        yaml_dir = work / "lm_eval_bbq"
        yaml_dir.mkdir()
        shutil.copy(src / "utils.py", yaml_dir / "utils.py")
        text = (src / "bbq_multiple_choice.yaml").read_text(encoding="utf-8")
        files = json.dumps([str(p) for p in sorted(folder.glob("*.jsonl"))])
        text = text.replace("task: bbq\n", "task: bbq_local\n")
        text = text.replace("dataset_path: oskarvanderwal/bbq", "dataset_path: json")
        text = text.replace(
            "dataset_name: All", f"dataset_name: null\ndataset_kwargs:\n  data_files:\n    test: {files}"
        )
        (yaml_dir / "bbq_local.yaml").write_text(text, encoding="utf-8")
        tm = TaskManager(include_path=str(yaml_dir), include_defaults=False)
        get_task_dict(["bbq_local"], tm)
        out["build_s"] = time.perf_counter() - t0
        out["build_peak_mb"] = _peak_mb() - base
    return out


def _cli(folder: Path, env: dict[str, str]) -> dict[str, float]:
    """The command a user runs, in a fresh process: wall seconds and its whole resident peak."""
    lm_eval_bin = Path(sys.executable).with_name("lm_eval")
    meta = json.dumps({"bbq": {"source": str(folder)}})
    argv = [str(lm_eval_bin), "--model", "dummy", "--tasks", "bbq_selfcorrect", "--limit", "5"]
    t0 = time.perf_counter()
    proc = subprocess.run([*argv, "--metadata", meta], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"lm_eval CLI failed:\n{proc.stderr[-2000:]}")
    wall = time.perf_counter() - t0
    return {"s": wall, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] in ("ours", "lm-eval"):
        print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))))
        return 0
    from harness_ext.data.bbq_layout import write_layout

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        t0 = time.perf_counter()
        sizes = write_layout(folder)
        mb = sum(f.stat().st_size for f in folder.glob("*.jsonl")) / 2**20
        print(
            f"generated {sum(sizes.values())} items in {len(sizes)} files ({mb:.1f} MB) in {time.perf_counter() - t0:.1f} s"
        )
        rows = {}
        # the CLI first: its resident peak is then the only child's (RUSAGE_CHILDREN keeps the max)
        cli = _cli(folder, os.environ | {"TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1"})
        for kind in ("ours", "lm-eval"):
            work = Path(tempfile.mkdtemp(dir=tmp))
            # HF_HUB_OFFLINE: lm-eval's ``dummy`` model asks the hub for a tokenizer when the run
            # ends (``add_tokenizer_info``); without network that is ~46 s of retries, not ours.
            env = os.environ | {
                "HF_DATASETS_CACHE": str(work / "hf"),
                "TQDM_DISABLE": "1",
                "HF_HUB_OFFLINE": "1",
            }
            proc = subprocess.run(
                [sys.executable, __file__, kind, str(folder), str(work)],
                capture_output=True,
                text=True,
                env=env,
            )
            if proc.returncode != 0:
                print(f"{kind}: failed\n{proc.stderr[-2000:]}")
                return 1
            rows[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
        head = f"{'':28}{'build s':>9}{'build peak MB':>15}{'--limit 5 run s':>17}{'run peak MB':>13}"
        print(head)
        ours, theirs = rows["ours"], rows["lm-eval"]
        print(
            f"{'bbq_selfcorrect (5 tasks)':28}{ours['build_s']:9.1f}{ours['build_peak_mb']:15.0f}"
            f"{ours['limit5_run_s']:17.1f}{ours['limit5_peak_mb']:13.0f}"
        )
        print(f"{'lm_eval CLI --limit 5':28}{'-':>9}{'-':>15}{cli['s']:17.1f}{cli['peak_mb']:13.0f}")
        print(
            f"{'lm-eval bbq (1 task)':28}{theirs['build_s']:9.1f}{theirs['build_peak_mb']:15.0f}{'-':>17}{'-':>13}"
        )
        print(f"{'target':28}{TARGET_S:9.1f}{TARGET_MB:15.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
