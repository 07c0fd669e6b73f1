"""Builds the tiny reference model: a random-weight Llama and a tokenizer carrying Kimi's tokens.

Usage: python build_model.py OUT_DIR

Deterministic: the same inputs give the same files (fixed corpus, fixed seed), so the cache key
is this file's content. The weights are random: the forcing logits processor
(forcing_processor.py) decides what the model says. Shapes: 2 layers, hidden 128, head_dim 64
(vLLM's CPU attention on AVX2 refuses head_dim 16).
"""

from __future__ import annotations

import json
import os
import sys

# Kimi K2.5's control tokens. vLLM's kimi_k2 reasoning and tool parsers look these up by text in
# the vocabulary. As in K2.5's tokenizer, <think> and </think> are added but not "special": output
# is detokenized with skip_special_tokens, and the reasoning parser must still see </think>.
THINK_TOKENS = ["<think>", "</think>"]
KIMI_SPECIAL = [
    "[BOS]",
    "[EOS]",
    "<|im_end|>",
    "<|im_user|>",
    "<|im_assistant|>",
    "<|im_system|>",
    "<|im_middle|>",
    "<|tool_calls_section_begin|>",
    "<|tool_calls_section_end|>",
    "<|tool_call_begin|>",
    "<|tool_call_argument_begin|>",
    "<|tool_call_end|>",
    "[PAD]",
]


def corpus() -> list[str]:
    # Byte-level BPE can spell anything; the corpus only makes common pieces one token.
    words = (
        "the a an of to in and is it that for on with as was at by be this are from or have "
        "weather city paris london tokyo unit celsius fahrenheit sunny rain get_weather "
        "get_time search query answer hello hi world thinking about user asks call tool result "
        "function name arguments json true false null time zone number string value"
    ).split()
    # What the forcing processor is most often asked to say: the simulator's generator words
    # (sim/generator.ts, the planner's replies), capitalised too (they open sentences), and the
    # pangram the conformance suite's 16 KB tool argument repeats. The CPU engine's cost is per
    # token: spelled letter by letter, that argument is 11k tokens; as words, about 3k.
    words += (
        "model answer clear short reply your query we can see works well most cases will help "
        "you plan next steps data shows simple result here some detail task agent output check "
        "note every item list good fast safe run test again later first then also more less let "
        "me think what wants maybe should step by ok so"
    ).split()
    words += [w.capitalize() for w in words]
    words += "The quick brown fox jumps over the lazy dog 0123456789.".split()
    lines = [" ".join(words[i : i + 8]) for i in range(0, len(words), 3)]
    lines += ["The quick brown fox jumps over the lazy dog 0123456789. " * 3]
    lines += ['{"city": "Paris", "unit": "celsius"}', '{"query": "hello world"}', "0123456789"]
    lines += ["functions.get_weather:0 functions.get_time:1", "Let me think. The user wants"]
    return lines * 20


def build(out: str) -> None:
    import torch
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    os.makedirs(out, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2048,
        special_tokens=KIMI_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS])
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "chat_template.jinja"), encoding="utf-8") as f:
        template = f.read()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="[BOS]",
        eos_token="<|im_end|>",
        pad_token="[PAD]",
        additional_special_tokens=KIMI_SPECIAL[3:12],
        model_max_length=262144,
    )
    fast.chat_template = template
    fast.save_pretrained(out)

    torch.manual_seed(0)
    vocab = ((len(fast) + 63) // 64) * 64
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=64,
        # The catalog serves K2.5 with its full 256k context; the config must allow it.
        max_position_embeddings=262144,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype="bfloat16",
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True)
    with open(os.path.join(out, "generation_config.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token_id": fast.bos_token_id, "eos_token_id": fast.eos_token_id}, f)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_model.py OUT_DIR")
    build(sys.argv[1])
