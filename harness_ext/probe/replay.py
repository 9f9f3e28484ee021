"""Re-render the prompt of one model turn of every logged conversation, exactly as it was sent.

A samples line holds the conversation script (``arguments.gen_args_0.arg_1``: turns, system
instruction, whether the chat template was applied) and the played transcript (``resps``). The
prompt of model turn ``T`` is what :func:`harness_ext.dialogue.render.render_prompt` made of the
transcript before ``T``, with ``T``'s prefix, through the backend's own chat template; this module
rebuilds it from the same pieces. Checks: lm-eval's ``prompt_hash`` (SHA-256 of the first
prompt) matches the script, and the transcript's user turns are the script's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness_ext.data.io import DataError, read_jsonl
from harness_ext.dialogue.render import ChatTemplate, render_prompt
from harness_ext.dialogue.script import Script
from harness_ext.runs import RunError, TaskRun, doc_key


@dataclass(frozen=True)
class Prompt:
    """The rendered prompt of one model turn of one logged document."""

    key: str
    group: str
    record: dict[str, Any]
    text: str


@dataclass(frozen=True)
class Logged:
    """One samples line: the document key, its script, chat flag and transcript."""

    key: str
    line: int
    script: Script
    chat: bool
    transcript: list[dict[str, Any]]


def read_scripts(task: TaskRun) -> dict[str, Logged]:
    """Script and chat flag of every document of ``task``, by document key, checked against lm-eval's hash."""
    path = task.samples_path
    if path is None:
        raise RunError(f"task {task.name!r}: no samples file (was lm_eval run with --log_samples?)")
    transcripts = {s.key: s.transcript for s in task.samples}
    out: dict[str, Logged] = {}
    try:
        rows = list(read_jsonl(path))
    except DataError as e:
        raise RunError(str(e)) from None
    for n, row in rows:
        key = doc_key(row.get("doc"), row.get("doc_hash"))
        try:
            args = row["arguments"]["gen_args_0"]
            first, spec = args["arg_0"], args["arg_1"]
            script = Script.from_dict(spec["script"])
        except (KeyError, TypeError) as e:
            raise RunError(f"{path}:{n}: no conversation script under arguments.gen_args_0 ({e})") from None
        want = row.get("prompt_hash")
        if want and hashlib.sha256(str(first).encode("utf-8")).hexdigest() != want:
            raise RunError(f"{path}:{n}: prompt_hash does not match the logged first prompt")
        out[key] = Logged(key, n, script, bool(spec.get("chat")), transcripts.get(key, []))
    return out


def turn_prompt(logged: Logged, turn: str | None, chat_template: ChatTemplate | None) -> str:
    """The prompt of model turn ``turn`` (its name; None = the first model turn) of one document."""
    model_turns = [t for t in logged.script.turns if t.is_model_turn]
    spec = next((t for t in model_turns if turn is None or t.name == turn), None)
    if spec is None:
        names = ", ".join(t.name for t in model_turns)
        raise RunError(
            f"document {logged.key!r} (line {logged.line}): no model turn {turn!r} (turns: {names})"
        )
    idx = next(
        (
            i
            for i, m in enumerate(logged.transcript)
            if m.get("role") == "assistant" and m.get("name") == spec.name
        ),
        None,
    )
    if idx is None:
        raise RunError(
            f"document {logged.key!r} (line {logged.line}): turn {spec.name!r} not in the transcript"
        )
    history = logged.transcript[:idx]
    said = [m.get("content") for m in history if m.get("kind") == "user"]
    scripted = [t.text for t in logged.script.turns if t.kind == "user"][: len(said)]
    if said != scripted:
        raise RunError(
            f"document {logged.key!r} (line {logged.line}): transcript user turns differ from the script"
        )
    if logged.chat and chat_template is None:
        raise RunError(f"document {logged.key!r}: the run applied a chat template but the model has none")
    return render_prompt(
        history,
        system=logged.script.system,
        prefix=spec.prefix,
        chat_template=chat_template if logged.chat else None,
    )


def task_prompts(
    task: TaskRun, turn: str | None, chat_template: ChatTemplate | None, keys: Sequence[str] | None = None
) -> list[Prompt]:
    """Prompts of ``turn`` for the documents ``keys`` (default: all) of ``task``, in sample order."""
    scripts = read_scripts(task)
    wanted = None if keys is None else set(keys)
    out = []
    for s in task.samples:
        if wanted is not None and s.key not in wanted:
            continue
        text = turn_prompt(scripts[s.key], turn, chat_template)
        out.append(Prompt(s.key, str(s.record.get("cluster", s.key)), s.record, text))
    return out
