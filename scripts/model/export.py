"""Export the trained model in the Hugging Face Optimum / transformers.js layout.

Usage: export.py WORK_DIR OUT_DIR
Writes OUT_DIR/{config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
onnx/model.onnx} and WORK_DIR/reference.json (torch logits for a prefill and one cached step, to compare
an ONNX Runtime run against).
"""
import json
import os
import sys

import onnx
import torch

from model import OnnxDecoder, TinyLlama
from problems import make_heldout, render_prompt
from tokenizer import Tokenizer
import settings

torch.set_num_threads(2)


def main():
    work_dir, out_dir = sys.argv[1], sys.argv[2]
    checkpoint = torch.load(f"{work_dir}/model.pt")
    cfg = checkpoint["config"]
    lm = TinyLlama(cfg)
    lm.load_state_dict(checkpoint["state"])
    lm.eval()
    decoder = OnnxDecoder(lm).eval()
    tok = Tokenizer()
    os.makedirs(f"{out_dir}/onnx", exist_ok=True)

    layers, kv_heads, head_dim = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"]
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **cfg,
              "hidden_act": "silu", "tie_word_embeddings": True, "attention_bias": False,
              "torch_dtype": "float32", "use_cache": True,
              # A base model trained on the plain Q:/A: text: Chainscope sends it the text form of each
              # variant rather than chat messages (other tools ignore this key).
              "chainscope": {"input": "text"}}
    with open(f"{out_dir}/config.json", "w") as f:
        json.dump(config, f, indent=1)
    # "\n\n" ends an answer in the Q:/A: format, so it is an end-of-generation token alongside </s>.
    generation = {"bos_token_id": tok.bos_id, "eos_token_id": [tok.eos_id, tok.stop_id],
                  "pad_token_id": tok.pad_id, "do_sample": False, "max_new_tokens": 64}
    with open(f"{out_dir}/generation_config.json", "w") as f:
        json.dump(generation, f, indent=1)
    tok.write_hf(out_dir, cfg["max_position_embeddings"])

    # Trace with a left-padded batch of 2, 3 new tokens on top of a 4-token past.
    g = torch.Generator().manual_seed(0)
    B, T, P = 2, 3, 4
    ids = torch.randint(4, cfg["vocab_size"], (B, T), generator=g)
    mask = torch.ones(B, P + T, dtype=torch.long)
    mask[1, :2] = 0
    positions = torch.arange(P, P + T).unsqueeze(0).repeat(B, 1)
    past = [torch.randn(B, kv_heads, P, head_dim, generator=g) for _ in range(2 * layers)]
    input_names = ["input_ids", "attention_mask", "position_ids"]
    output_names = ["logits"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(layers):
        for kind in ("key", "value"):
            input_names.append(f"past_key_values.{i}.{kind}")
            output_names.append(f"present.{i}.{kind}")
            axes[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
            axes[f"present.{i}.{kind}"] = {0: "batch_size", 2: "total_sequence_length"}
    path = f"{out_dir}/onnx/model.onnx"
    with torch.no_grad():
        torch.onnx.export(decoder, (ids, mask, positions, *past), path, input_names=input_names,
                          output_names=output_names, dynamic_axes=axes, opset_version=17,
                          do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    print("onnx bytes", os.path.getsize(path))

    # Reference: prefill of a real prompt with an empty past, then one cached step.
    prompt = render_prompt([], make_heldout(1, settings.HELDOUT_SEED)[0], cot=True, trigger=True)
    prompt_ids = tok.encode(prompt)
    n = len(prompt_ids)
    empty = [torch.zeros(1, kv_heads, 0, head_dim) for _ in range(2 * layers)]
    with torch.no_grad():
        first = decoder(torch.tensor([prompt_ids]), torch.ones(1, n, dtype=torch.long),
                        torch.arange(n).unsqueeze(0), *empty)
        next_id = int(first[0][0, -1].argmax())
        second = decoder(torch.tensor([[next_id]]), torch.ones(1, n + 1, dtype=torch.long),
                         torch.tensor([[n]]), *first[1:])
    heldout = make_heldout(4, settings.HELDOUT_SEED)
    texts = [render_prompt(heldout[:3], heldout[3], cot=True) + heldout[3].cot_answer() + "\n\n",
             render_prompt(heldout[:2], heldout[2], cot=False) + heldout[2].direct_answer() + "\n\n</s>",
             "Solve this.\n\nQ: Zed has 250 widgets.\tÜber  two spaces!\n\n\nA: Let's think step by step."]
    with open(f"{work_dir}/reference.json", "w") as f:
        json.dump({"tokenizer_cases": [{"text": t, "ids": tok.encode(t)} for t in texts], "prompt": prompt, "prompt_ids": prompt_ids, "prefill_last_logits": first[0][0, -1].tolist(),
                   "next_id": next_id, "step_logits": second[0][0, -1].tolist()}, f)


if __name__ == "__main__":
    main()
