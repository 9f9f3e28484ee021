"""``DialogueTask``: the lm-eval task class every family builds on.

A family's task class is a thin adapter: it names its :class:`~harness_ext.family.Family`
(:attr:`FAMILY`: typed params, metrics), says the conversation script of a document
(:meth:`build_script`), how a finished transcript scores (:meth:`score`, a record of numeric
columns) and which facts about its documents re-scoring needs (:meth:`facts`). Everything else
(requests, chat templates, system instruction, CLI ``--gen_kwargs``, caching, provenance: the
family name, its params and the facts) is shared here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lm_eval.api.instance import Instance
from lm_eval.api.task import ConfigurableTask

from harness_ext.data import subset
from harness_ext.data.resolve import docs_digest
from harness_ext.dialogue import request_hook, stderr_hook
from harness_ext.dialogue.runner import REQUEST_TYPE, decode_transcript
from harness_ext.dialogue.script import Script
from harness_ext.family import Family, Params
from harness_ext.metrics.core import Aggregation, Metric, SharedRecord
from harness_ext.params import family_params
from harness_ext.prompts import Used, recording, template_hash

Record = dict[str, Any]

# The two lm-eval hooks, once per process (both idempotent).
request_hook.install()
stderr_hook.install()


class DialogueTask(ConfigurableTask):
    """Base class: one scripted multi-turn conversation per document."""

    #: Document columns whose values stratify the ``--limit`` sample (empty: lm-eval's first N),
    #: and the column of the unit kept whole (:mod:`harness_ext.data.subset`).
    LIMIT_STRATA: ClassVar[tuple[str, ...]] = ()
    LIMIT_UNIT: ClassVar[str] = "id"
    #: The family: its ``--metadata`` block, typed params and metrics (:mod:`harness_ext.family`).
    FAMILY: ClassVar[Family]
    #: What distinguishes this task's conversation from the family's other tasks (the family's
    #: ``conversation`` functions get it).
    CONDITION: ClassVar[Any] = None
    #: Templates under ``prompts/`` the task declares. Provenance hashes these and every
    #: template the task actually renders (:mod:`harness_ext.prompts` records them), plus the
    #: engine's ``transcript.j2``, so a template missing here is still hashed.
    TEMPLATES: ClassVar[tuple[str, ...]] = ()
    #: Attributes of :attr:`CONDITION` that the family's metrics read (:meth:`facts`).
    FACTS: ClassVar[tuple[str, ...]] = ()
    #: The dialogue engine's own template, rendered model-side (``harness_ext.dialogue.render``).
    ENGINE_TEMPLATES: ClassVar[tuple[str, ...]] = ("transcript.j2",)

    @classmethod
    def condition(cls, name: str, condition: Any, doc: str) -> type[DialogueTask]:
        """The task class of one condition: ``Question = Base.condition("Question", C(), "...")``
        (a YAML's ``class: !function module.Question`` names it)."""
        attrs = {"CONDITION": condition, "__doc__": doc, "__module__": cls.__module__, "__qualname__": name}
        return type(name, (cls,), attrs)

    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._used = Used()  # lm-eval's constructor already builds a script (its test document)
        cfg = dict(config or {})
        cfg.pop("class", None)
        super().__init__(config=cfg, **kwargs)
        self._system_instruction: str | None = None
        self._metric_fn_list = {m.name: None for m in self.metrics()}
        self._metric_fn_kwargs: dict[str, dict[str, Any]] = {m.name: {} for m in self.metrics()}
        self._aggregation_list = {m.name: Aggregation(m) for m in self.metrics()}
        self._higher_is_better = {m.name: m.higher_is_better for m in self.metrics()}
        meta = self.config.metadata if isinstance(self.config.metadata, dict) else {}
        meta["provenance"] = self.provenance()
        self.config.metadata = meta

    # ---------------------------------------------------------------- family interface
    def metrics(self) -> tuple[Metric, ...]:
        return tuple(self.FAMILY.metrics(str(self.config.task), self.params(), self.facts()))

    def facts(self) -> dict[str, Any]:
        """What the family's ``metrics`` needs to know about this task (recorded in provenance):
        by default the :attr:`CONDITION` attributes named in :attr:`FACTS`."""
        return {name: getattr(self.CONDITION, name) for name in self.FACTS}

    def build_script(self, doc: Mapping[str, Any]) -> Script:
        return self.FAMILY.build_script(doc, self.params(), self.CONDITION)  # type: ignore[no-any-return]

    def score(self, doc: Mapping[str, Any], transcript: list[dict[str, Any]]) -> Record:
        return self.FAMILY.score(doc, transcript, self.params(), self.CONDITION)

    def params(self) -> Any:
        """The family's typed params, validated once from the YAML ``metadata`` and ``--metadata``."""
        if getattr(self, "_params", None) is None:
            meta = self.config.metadata if isinstance(self.config.metadata, dict) else {}
            self._params: Params | None = self.FAMILY.params.from_metadata(self.FAMILY.name, meta)
        return self._params

    def raw_params(self) -> dict[str, Any]:
        """The metadata as the family's data loader reads it (the family's block over flat keys)."""
        meta = dict(self.config.metadata or {})
        return family_params(self.FAMILY.name, meta, self.FAMILY.params.accepted())

    # ---------------------------------------------------------------- lm-eval plumbing
    @property
    def eval_docs(self) -> Any:
        docs = super().eval_docs
        order = getattr(self, "_limit_order", None)
        if order is None:
            return docs
        if getattr(self, "_limit_docs", None) is None:
            self._limit_docs = docs.select(order)
        return self._limit_docs

    def build_all_requests(self, *, limit: Any = None, samples: Any = None, **kwargs: Any) -> None:
        """With ``--limit N``, first reorder the documents so the first N are the stratified sample."""
        if (
            limit is not None
            and not samples
            and self.LIMIT_STRATA
            and getattr(self, "_limit_order", None) is None
        ):
            docs, n = self.eval_docs, int(limit)
            seed = int(self.raw_params().get("limit_seed", subset.DEFAULT_SEED))
            cols = subset.column_values(docs, [*self.LIMIT_STRATA, self.LIMIT_UNIT])
            strata = list(zip(*(cols[c] for c in self.LIMIT_STRATA), strict=True))
            order = subset.stratified_order(strata, cols[self.LIMIT_UNIT], n, seed)
            self._limit_order, self._limit_docs = order, None
            prov = (self.config.metadata or {}).get("provenance")
            if isinstance(prov, dict):
                prov["subset"] = subset.describe(docs, order, n, seed, self.LIMIT_STRATA, self.LIMIT_UNIT)
        super().build_all_requests(limit=limit, samples=samples, **kwargs)
        self._update_used()

    def fewshot_docs(self) -> None:
        """No few-shot pool: the conversation is scripted (``--num_fewshot`` is refused).

        lm-eval's default falls back to the test split and copies it into a list per task
        (``list(self.fewshot_docs())`` in ``ConfigurableTask.__init__``): on a 58k-item set with
        five conditions, 20 s and hundreds of MB for a sampler never used.
        """
        return None

    def _script(self, doc: Any) -> Script:
        """:meth:`build_script`, noting the templates it renders (for provenance)."""
        with recording(self._used):
            return self.build_script(doc)

    def doc_to_text(self, doc: Any, doc_to_text: Any = None) -> str:
        first = next((t for t in self._script(doc).turns if t.kind == "user"), None)
        return first.text if first else ""

    def fewshot_context(self, doc: Any, num_fewshot: int, **kwargs: Any) -> str:  # type: ignore[override]
        # lm-eval hands the system instruction only to this method; the script needs it.
        if num_fewshot:
            raise ValueError(
                f"{self.config.task}: --num_fewshot {num_fewshot} is not supported by dialogue tasks "
                "(the conversation is scripted); leave it unset or 0"
            )
        self._system_instruction = kwargs.get("system_instruction")
        # construct_requests follows for the same doc: build its script once
        self._script_of = (doc, self._script(doc))
        return next((t.text for t in self._script_of[1].turns if t.kind == "user"), "")

    def construct_requests(self, doc: Any, ctx: Any, **kwargs: Any) -> Instance:  # type: ignore[override]
        built = getattr(self, "_script_of", None)
        script = built[1] if built is not None and built[0] is doc else self._script(doc)
        script = Script(
            turns=script.turns,
            system=self._system_instruction or script.system,
            gen_kwargs=dict(self.config.generation_kwargs or {}),
        )
        spec = {"script": script.to_dict(), "chat": bool(kwargs.get("apply_chat_template"))}
        return Instance(
            request_type=REQUEST_TYPE,  # type: ignore[arg-type]
            doc=doc,
            arguments=(ctx, spec),
            idx=0,
            metadata=kwargs.get("metadata", (None, None, None)),
        )

    def process_results(self, doc: Any, results: list[Any]) -> dict[str, Mapping[str, Any]]:
        with recording(self._used):
            record = self.score(doc, decode_transcript(results[0]))
        self._update_used()
        first, *rest = (m.name for m in self.metrics())
        return {first: record} | {name: SharedRecord(record, first) for name in rest}

    def provenance(self) -> dict[str, Any]:
        """Source of the documents, their content hash and the hashes of the prompt templates."""
        digest = docs_digest(self.eval_docs)  # once per document list, shared by the conditions
        sources = digest["sources"]
        return {
            "source": sources[0] if len(sources) == 1 else sources,
            "n_docs": digest["n_docs"],
            "data_sha256": digest["data_sha256"],
            "family": self.FAMILY.name,
            "params": self.params().recorded(),
            **self.facts(),
        } | self._used_hashes()

    def _used_hashes(self) -> dict[str, Any]:
        """``prompt_sha256`` of the declared and rendered templates; ``resource_sha256`` of the
        data files the scorer read (only when it read any)."""
        names = {*self.TEMPLATES, *self.ENGINE_TEMPLATES, *self._used.templates}
        out: dict[str, Any] = {"prompt_sha256": template_hash(names)}
        if self._used.resources:
            out["resource_sha256"] = dict(sorted(self._used.resources.items()))
        return out

    def _update_used(self) -> None:
        """Refresh the hashes in the recorded provenance when more was rendered or read since
        (lm-eval writes the task config into the results after scoring)."""
        seen = (len(self._used.templates), len(self._used.resources))
        if seen == getattr(self, "_used_seen", None):
            return
        self._used_seen = seen
        prov = (self.config.metadata or {}).get("provenance")
        if isinstance(prov, dict):
            prov.update(self._used_hashes())
