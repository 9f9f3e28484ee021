"""``DialogueTask``: the lm-eval task class every family builds on.

A family subclass says three things: the conversation script of a document
(:meth:`build_script`), how a finished transcript scores (:meth:`score`, a record of numeric
columns), and which metrics it reports (:attr:`METRICS`). Everything else (requests, chat
templates, system instruction, CLI ``--gen_kwargs``, caching, provenance) is shared here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from lm_eval.api.instance import Instance
from lm_eval.api.task import ConfigurableTask

from harness_ext.dialogue.lm_patch import install
from harness_ext.dialogue.runner import REQUEST_TYPE, decode_transcript
from harness_ext.dialogue.script import Script
from harness_ext.metrics.core import Aggregation, Metric, SharedRecord
from harness_ext.prompts import template_hash

Record = dict[str, Any]


class DialogueTask(ConfigurableTask):
    """Base class: one scripted multi-turn conversation per document."""

    METRICS: ClassVar[tuple[Metric, ...]] = ()
    #: Templates under ``prompts/`` this task renders (hashed into the results for provenance).
    TEMPLATES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        install()
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
        return self.METRICS

    def build_script(self, doc: Mapping[str, Any]) -> Script:
        raise NotImplementedError

    def score(self, doc: Mapping[str, Any], transcript: list[dict[str, Any]]) -> Record:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Task parameters from the YAML ``metadata`` and the CLI ``--metadata``."""
        return dict(self.config.metadata or {})

    # ---------------------------------------------------------------- lm-eval plumbing
    def doc_to_text(self, doc: Any, doc_to_text: Any = None) -> str:
        first = next((t for t in self.build_script(doc).turns if t.kind == "user"), None)
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
        self._script_of = (doc, self.build_script(doc))
        return next((t.text for t in self._script_of[1].turns if t.kind == "user"), "")

    def construct_requests(self, doc: Any, ctx: Any, **kwargs: Any) -> Instance:  # type: ignore[override]
        built = getattr(self, "_script_of", None)
        script = built[1] if built is not None and built[0] is doc else self.build_script(doc)
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
        record = self.score(doc, decode_transcript(results[0]))
        first, *rest = (m.name for m in self.metrics())
        return {first: record} | {name: SharedRecord(record, first) for name in rest}

    def provenance(self) -> dict[str, Any]:
        """Source of the documents, their content hash and the hashes of the prompt templates."""
        docs = [dict(d) for d in self.eval_docs]
        blob = json.dumps(docs, sort_keys=True, ensure_ascii=False, default=str).encode()
        sources = sorted({str(d.get("source", "")) for d in docs})
        return {
            "source": sources[0] if len(sources) == 1 else sources,
            "n_docs": len(docs),
            "data_sha256": hashlib.sha256(blob).hexdigest(),
            "prompt_sha256": template_hash((*self.TEMPLATES, "transcript.j2")),
        }
