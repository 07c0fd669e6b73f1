"""Cross-check of a Gonka target with the official Python `openai` client.

Two client implementations, one contract: this runs a smaller set of the
conformance checks (models, chat with and without streaming, tools, embeddings,
one error) through a different HTTP stack and parser than the TypeScript suite.
Prints one line per check and exits non-zero when any fails.

    python check_openai.py --base-url http://127.0.0.1:8080 [--api-key gk-...]
        [--chat-model kimi-k2.5] [--tools-model kimi-k2.5] [--embedding-model qwen3-embedding-0.6b]
"""

import argparse
import json
import os
import sys
import traceback

import openai

MARKERS = ("<think>", "</think>", "<|tool_call")

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", default=os.environ.get("GONKA_BASE_URL"))
    p.add_argument("--api-key", default=os.environ.get("GONKA_API_KEY"))
    p.add_argument("--chat-model")
    p.add_argument("--tools-model")
    p.add_argument("--embedding-model")
    args = p.parse_args()
    if not args.base_url:
        p.error("--base-url (or GONKA_BASE_URL) is required")
    return args


def check_models(client, ctx):
    models = client.models.list().data
    assert models, "no models listed"
    ids = [m.id for m in models]
    got = client.models.retrieve(ids[0])
    assert got.id == ids[0], f"retrieve({ids[0]}) returned {got.id}"
    ctx["ids"] = ids
    return f"{len(ids)} models"


def check_chat(client, ctx):
    r = client.chat.completions.create(
        model=ctx["chat"], messages=[{"role": "user", "content": "Say hello."}], max_tokens=128
    )
    choice = r.choices[0]
    assert choice.message.role == "assistant", f"role {choice.message.role}"
    assert choice.finish_reason in ("stop", "length"), f"finish_reason {choice.finish_reason}"
    content = choice.message.content or ""
    assert not any(m in content for m in MARKERS), f"template marker in content: {content[:120]!r}"
    assert r.usage and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "usage"
    return f"{r.usage.completion_tokens} completion tokens"


def check_chat_stream(client, ctx):
    stream = client.chat.completions.create(
        model=ctx["chat"],
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=128,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage, first_role = "", None, None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
            assert chunk.choices == [], "the usage chunk has choices"
        for c in chunk.choices:
            if first_role is None:
                first_role = c.delta.role
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    assert first_role == "assistant", f"first delta role {first_role!r}"
    assert finish in ("stop", "length"), f"finish_reason {finish}"
    assert usage is not None, "no usage chunk although include_usage was set"
    return f"{len(text)} chars streamed"


def check_tools(client, ctx):
    r = client.chat.completions.create(
        model=ctx["tools"],
        messages=[{"role": "user", "content": 'Use get_weather for "Paris".'}],
        tools=[WEATHER_TOOL],
    )
    choice = r.choices[0]
    calls = choice.message.tool_calls or []
    assert calls, f"no tool_calls (finish_reason {choice.finish_reason}, content {choice.message.content!r})"
    assert choice.finish_reason == "tool_calls", f"finish_reason {choice.finish_reason}"
    args = json.loads(calls[0].function.arguments)
    assert isinstance(args, dict), "arguments are not a JSON object"
    # Follow-up turn with the tool-call id echoed back unchanged.
    follow = client.chat.completions.create(
        model=ctx["tools"],
        messages=[
            {"role": "user", "content": 'Use get_weather for "Paris".'},
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": calls[0].id, "content": '{"sky": "clear"}'},
        ],
        tools=[WEATHER_TOOL],
    )
    assert follow.choices[0].message.content, "no text answer after the tool result"
    return f"called {calls[0].function.name} as {calls[0].id}"


def check_embeddings(client, ctx):
    if not ctx["embedding"]:
        return "skipped: no embedding model"
    r = client.embeddings.create(model=ctx["embedding"], input=["red apple", "blue whale"])
    assert len(r.data) == 2, f"{len(r.data)} embeddings for 2 inputs"
    assert [d.index for d in r.data] == [0, 1], "indexes"
    dims = {len(d.embedding) for d in r.data}
    assert len(dims) == 1 and dims.pop() > 0, "vector lengths differ"
    return f"{len(r.data[0].embedding)} dims"


def check_error(client, ctx):
    try:
        client.chat.completions.create(
            model="conformance-no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    except openai.NotFoundError as err:
        body = err.body if isinstance(err.body, dict) else {}
        assert "message" in body and "type" in body, f"error body {err.body!r}"
        return "NotFoundError"
    raise AssertionError("an unknown model did not raise openai.NotFoundError")


def main():
    args = parse_args()
    client = openai.OpenAI(
        base_url=args.base_url.rstrip("/") + "/v1", api_key=args.api_key or "no-key", max_retries=2
    )
    ctx = {"chat": args.chat_model, "tools": args.tools_model, "embedding": args.embedding_model}
    checks = [
        ("models list/retrieve", check_models),
        ("chat completion", check_chat),
        ("chat completion stream", check_chat_stream),
        ("tool call round trip", check_tools),
        ("embeddings batch", check_embeddings),
        ("404 raises NotFoundError", check_error),
    ]
    failed = 0
    print(f"openai-python {openai.__version__} against {args.base_url}")
    for name, fn in checks:
        if name != "models list/retrieve" and not ctx.get("chat"):
            ctx["chat"] = ctx["ids"][0]
        if ctx.get("tools") is None:
            ctx["tools"] = ctx.get("chat")
        try:
            print(f"ok   {name}: {fn(client, ctx)}")
        except Exception as err:  # noqa: BLE001 - every failure is reported, none stops the rest
            failed += 1
            detail = str(err) or traceback.format_exc(limit=1)
            print(f"FAIL {name}: {type(err).__name__}: {detail}")
    print(f"{len(checks) - failed}/{len(checks)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
