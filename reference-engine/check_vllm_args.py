"""Checks engine argument lists with the installed vLLM's own `vllm serve` argument parser.

Reads a JSON list of {"name": str, "args": [str]} on stdin (the arguments after `vllm serve`) and
prints a JSON list of {"name", "ok", "error"}. Parsing needs no GPU and no model: it is the same
parser and the same post-parse validation `vllm serve` runs before loading anything.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from vllm.entrypoints.openai.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.utils.argparse_utils import FlexibleArgumentParser


def check(args: list[str]) -> str | None:
    parser = make_arg_parser(FlexibleArgumentParser(description="vLLM serve"))
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns = parser.parse_args(args)
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "argument error"
    if getattr(ns, "model_tag", None):
        ns.model = ns.model_tag
    try:
        validate_parsed_serve_args(ns)
    except Exception as e:  # noqa: BLE001 - every refusal is reported, by message
        return f"{type(e).__name__}: {e}"
    return None


def main() -> None:
    out = []
    for item in json.load(sys.stdin):
        error = check(item["args"])
        out.append({"name": item["name"], "ok": error is None, "error": error})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
