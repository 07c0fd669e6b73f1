"""A vLLM logits processor that makes the model emit a scripted text, token by token.

The tiny reference model has random weights, so on its own it emits noise. Each request that
carries `vllm_xargs: {"gonka_script": "<text>"}` gets that text tokenized with the served
tokenizer; at step i every logit but the script's i-th token is set to -inf, and once the script
is exhausted only the end-of-sequence token is allowed. vLLM's real serving code, reasoning
parser and tool parser then see real Kimi K2.5-format text. Requests without the argument are
left alone (random-weight output), so ordinary clients still work.
"""

from __future__ import annotations

import os
import time

import torch
from transformers import AutoTokenizer
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import AdapterLogitsProcessor

SCRIPT_KEY = "gonka_script"
# Pause per engine step while a scripted request runs. Without it, on a loaded CPU the API
# process falls behind the engine and hands several steps' tokens to the serving code at once,
# which then merges (and in vLLM 0.20.2 sometimes drops) deltas: the chunking would depend on
# the machine's load instead of on vLLM's serving code. One token per chunk is what a GPU
# serving at normal load produces.
STEP_PAUSE_S = float(os.environ.get("GONKA_REF_STEP_MS", "0")) / 1000


class ScriptedTokens(AdapterLogitsProcessor):
    def __init__(self, vllm_config, device, is_pin_memory):
        super().__init__(vllm_config, device, is_pin_memory)
        model_config = vllm_config.model_config
        self._tokenizer = AutoTokenizer.from_pretrained(model_config.tokenizer)
        self._eos = self._tokenizer.eos_token_id
        # Tokenizing the same script twice (n > 1, retries) is common in tests.
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def validate_params(cls, sampling_params: SamplingParams):
        extra = sampling_params.extra_args or {}
        script = extra.get(SCRIPT_KEY)
        if script is not None and not isinstance(script, str):
            raise ValueError(f"vllm_xargs.{SCRIPT_KEY} must be a string")

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        out = super().apply(logits)
        if self.req_info and STEP_PAUSE_S > 0:
            time.sleep(STEP_PAUSE_S)
        return out

    def is_argmax_invariant(self) -> bool:
        # It changes which token wins, so greedy sampling must not skip it.
        return False

    def _ids(self, script: str) -> list[int]:
        ids = self._cache.get(script)
        if ids is None:
            ids = self._tokenizer.encode(script, add_special_tokens=False)
            self._cache[script] = ids
        return ids

    def new_req_logits_processor(self, params: SamplingParams):
        script = (params.extra_args or {}).get(SCRIPT_KEY)
        if script is None:
            return None
        ids = self._ids(script)
        eos = self._eos

        def force(output_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
            step = len(output_ids)
            target = ids[step] if step < len(ids) else eos
            forced = torch.full_like(logits, float("-inf"))
            forced[target] = 0.0
            return forced

        return force
