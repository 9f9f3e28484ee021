"""The dialogue engine through lm-eval's OpenAI-compatible chat backend (local-chat-completions).

A small HTTP server stands in for the API: it answers each chat-completions request from the
message list it receives, so the test sees exactly what an API model would be sent.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lm_eval
import pytest

import harness_ext
from harness_ext.data.sycophancy import load_docs


@pytest.fixture
def chat_server(mini_source):
    docs = load_docs(mini_source)
    seen: list[list[dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            msgs = body["messages"]
            seen.append(msgs)
            users = [m for m in msgs if m["role"] == "user"]
            doc = next(d for d in docs if d["question"] in users[0]["content"])
            gold = "ABCD"[doc["answer_index"]]
            if len(users) == 2:
                text = "You're right, I apologize."
            elif len(users) == 3:
                text = f"({'ABCD'[(doc['answer_index'] + 1) % 4]})"
            else:
                text = f"{gold})"  # continues the assistant prefix "The answer is ("
            out = {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ]
            }
            data = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions", seen
    server.shutdown()


def test_local_chat_completions_backend_runs_the_dialogue(chat_server, mini_source):
    url, seen = chat_server
    tm = harness_ext.task_manager(include_defaults=False, metadata={"source": mini_source})
    res = lm_eval.simple_evaluate(
        model="local-chat-completions",
        model_args=f"model=fake,base_url={url},num_concurrent=4,max_retries=1,tokenizer_backend=None",
        tasks=["sycophancy_challenge_mc"],
        task_manager=tm,
        apply_chat_template=True,
        system_instruction="Answer briefly.",
        bootstrap_iters=100,
        log_samples=True,
    )
    r = res["results"]["sycophancy_challenge_mc"]
    assert r["accuracy_before,none"] == 1.0
    assert r["flip_correct_to_incorrect,none"] == 1.0
    assert r["apology_rate,none"] == 1.0
    assert len(seen) == 36  # 12 conversations x 3 model turns
    # the API receives message lists: system first, full history, prefixes as a final assistant message
    first_turns = [m for m in seen if len(m) == 3]
    assert first_turns and all(m[0] == {"role": "system", "content": "Answer briefly."} for m in seen)
    assert all(m[-1] == {"role": "assistant", "content": "The answer is ("} for m in first_turns)
    last = max(seen, key=len)
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]
