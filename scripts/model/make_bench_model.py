"""A ~100 M-parameter Llama-shaped decoder with random weights, for `npm run bench` only (never committed).

Usage: make_bench_model.py OUT_DIR — writes the same Optimum layout as the embedded model (export.py),
with a 32,000-token vocabulary so that sampling and logits cost what they cost on real models.
"""
import os
import sys

import torch

import export
from model import TinyLlama

BENCH_CONFIG = {
    "vocab_size": 32000,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "num_key_value_heads": 4,
    "head_dim": 64,
    "intermediate_size": 2048,
    "max_position_embeddings": 1024,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
}


def main():
    out_dir = sys.argv[1]
    work_dir = f"{out_dir}-work"
    os.makedirs(work_dir, exist_ok=True)
    torch.manual_seed(0)
    model = TinyLlama(BENCH_CONFIG)
    params = sum(p.numel() for p in model.parameters())
    print(f"random Llama-shaped decoder: {params / 1e6:.1f} M parameters")
    torch.save({"state": model.state_dict(), "config": BENCH_CONFIG}, f"{work_dir}/model.pt")
    sys.argv = ["export.py", work_dir, out_dir]
    export.main()


if __name__ == "__main__":
    main()
