"""What a task family is to the generic tools: a typed, frozen :class:`Params` and a :class:`Family`.

A family lives in one package under ``harness_ext/families/`` whose ``__init__`` defines a
module-level ``FAMILY = Family(...)`` (found by :mod:`harness_ext.registry`) and imports neither
lm-eval nor the data sets: the lm-eval ``Task`` adapter is its ``task`` module. ``report``,
``compare``, ``submit``, ``validate`` and ``leaderboard`` read a family only through this
descriptor and the :class:`~harness_ext.metrics.core.Metric` objects it returns, so adding a
family needs no edit to them.

Results record ``metadata.provenance.family`` (the name) and ``.params`` (:meth:`Params.recorded`),
so a saved run is re-scored from what it recorded: ``metrics(task, params, facts)`` gets the
task name, the params and the whole provenance (the facts the task wrote: categories, prompt
types ...).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from harness_ext.metrics.core import Group, Metric
from harness_ext.params import ParamsError, family_params

P = TypeVar("P", bound="Params")


@dataclass(frozen=True)
class Params:
    """Base of a family's parameters: typed fields, validated once from ``--metadata``.

    Subclasses are frozen dataclasses; their fields are the parameters the family's own code
    reads, :attr:`DATA_KEYS` the further keys its data loader accepts (checked, not stored).
    :meth:`check` raises :class:`~harness_ext.params.ParamsError` on a bad value.
    """

    DATA_KEYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def accepted(cls) -> tuple[str, ...]:
        """Every key the family's ``--metadata`` block accepts."""
        return tuple(sorted({*cls.DATA_KEYS, *(f.name for f in dataclasses.fields(cls))}))

    @classmethod
    def from_metadata(cls: type[P], family: str, metadata: Mapping[str, Any] | None) -> P:
        """The params of a task's metadata: flat keys overlaid with the family's block, checked."""
        merged = family_params(family, metadata, cls.accepted())
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            params = cls(**{k: v for k, v in merged.items() if k in names})
        except TypeError as e:  # pragma: no cover - every field has a default
            raise ParamsError(f"--metadata {family!r}: {e}") from None
        params.check(family)
        return params

    def check(self, family: str) -> None:
        """Raise :class:`ParamsError` on a bad value (override; the message names the key)."""

    def recorded(self) -> dict[str, Any]:
        """The params as written into ``metadata.provenance.params``."""
        return dataclasses.asdict(self)


def annotate(
    metrics: Iterable[Metric],
    *,
    groups: Sequence[tuple[str, Group]] = (),
    min_effects: Sequence[tuple[str, float]] = (),
    ranges: Sequence[tuple[str, tuple[float, float]]] = (),
) -> tuple[Metric, ...]:
    """``metrics`` with group, minimum effect and range set from regular expressions over the name.

    Each table is ``(pattern, value)`` pairs, the first ``re.fullmatch`` wins; a metric no pattern
    matches keeps its own value.
    """

    def first(name: str, table: Sequence[tuple[str, Any]]) -> Any:
        return next((v for pat, v in table if re.fullmatch(pat, name)), None)

    out = []
    for m in metrics:
        g, eff, rng = first(m.name, groups), first(m.name, min_effects), first(m.name, ranges)
        changes: dict[str, Any] = {}
        if g is not None:
            changes["group"] = g
        if eff is not None:
            changes["min_effect"] = float(eff)
        if rng is not None:
            changes["lo"], changes["hi"] = float(rng[0]), float(rng[1])
        out.append(dataclasses.replace(m, **changes) if changes else m)
    return tuple(out)


def bad_value(family: str, key: str, expected: str, found: Any) -> ParamsError:
    """The one-line error of a parameter with a bad value."""
    return ParamsError(f"--metadata {family!r}: {key!r} expected {expected}, found {found!r:.60}")


@dataclass(frozen=True)
class TableRows:
    """A family's table in the report: data files ``<stem>.csv``/``.json``, a heading, a note,
    and rows of :func:`harness_ext.report.plots.change_row`."""

    stem: str
    title: str
    note: str
    rows: list[dict[str, Any]]


MetricsFn = Callable[[str, Any, Mapping[str, Any]], tuple[Metric, ...]]


@dataclass(frozen=True)
class Family:
    """One task family as the generic tools see it."""

    #: ``--metadata`` block name and ``provenance.family``.
    name: str
    #: lm-eval task-name prefixes of the family's tasks (results without ``provenance.family``).
    task_prefixes: tuple[str, ...]
    params: type[Params]
    #: ``(task name, params, provenance) -> metrics`` of one task; pure.
    metrics: MetricsFn
    #: Module of the family's report hooks, imported only by the report: ``plots(run, points, out)``
    #: (its own plots, given every metric of every task with its interval, :class:`Point`) and,
    #: optionally, ``tables(run) -> list[TableRows]``.
    report: str | None = None
    #: lm-eval task or group names on the leaderboard (None: the task prefixes, as groups).
    leaderboard: tuple[str, ...] | None = None
    #: Modules with ``add_parser(subparsers)`` and ``run(args) -> int``: extra ``harness-ext`` commands.
    commands: tuple[str, ...] = ()
    #: Module of the family's pure ``build_script(doc, params, condition)`` and
    #: ``score(doc, transcript, params, condition)``; the task classes differ by ``condition``.
    conversation: str | None = None

    def build_script(self, doc: Mapping[str, Any], params: Params, condition: Any) -> Any:
        """The conversation script of ``doc`` (:class:`harness_ext.dialogue.script.Script`)."""
        return self._conversation().build_script(doc, params, condition)

    def score(
        self, doc: Mapping[str, Any], transcript: list[dict[str, Any]], params: Params, condition: Any
    ) -> dict[str, Any]:
        """The per-sample record of a finished conversation."""
        return dict(self._conversation().score(doc, transcript, params, condition))

    def _conversation(self) -> Any:
        if self.conversation is None:
            raise NotImplementedError(f"family {self.name!r} declares no conversation module")
        return importlib.import_module(self.conversation)

    def plots(self, run: Any, points: Sequence[Any], out: Path) -> list[Any]:
        """The family's own plots of a run (:mod:`harness_ext.report.plots` ``Plot`` objects)."""
        return list(importlib.import_module(self.report).plots(run, points, out)) if self.report else []

    def tables(self, run: Any) -> list[TableRows]:
        """The family's own report tables of a run."""
        module = importlib.import_module(self.report) if self.report else None
        return list(module.tables(run)) if module is not None and hasattr(module, "tables") else []

    def params_of(self, config: Mapping[str, Any]) -> Params:
        """The params a task config (results ``configs`` entry, submission metadata) recorded.

        ``provenance.params`` when present; older results: re-read from the recorded metadata.
        """
        meta = config.get("metadata") or {}
        recorded = _provenance(config).get("params")
        if isinstance(recorded, Mapping):
            names = {f.name for f in dataclasses.fields(self.params)}
            params = self.params(**{k: v for k, v in recorded.items() if k in names})
            params.check(self.name)
            return params
        return self.params.from_metadata(self.name, meta if isinstance(meta, Mapping) else {})

    def task_metrics(self, task: str, config: Mapping[str, Any]) -> tuple[Metric, ...]:
        """The metrics of ``task`` as configured in a results file or submission."""
        return tuple(self.metrics(task, self.params_of(config), _provenance(config)))


def _provenance(config: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata.provenance`` of a task config ({} when absent)."""
    meta = config.get("metadata") or {}
    prov = meta.get("provenance") if isinstance(meta, Mapping) else None
    return dict(prov) if isinstance(prov, Mapping) else {}
