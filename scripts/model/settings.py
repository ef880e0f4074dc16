"""Every knob of the build in one place (seeds, sizes, schedule), so a rebuild is reproducible."""
import os

from problems import make_heldout

SEED = 1234
HELDOUT_SEED = 777       # the evaluation problems come from their own generator seed
FEWSHOT_SEED = 4242      # the solved examples shown in few-shot evaluation prompts
N_HELDOUT = 500

# Model: 0.85 M parameters, sized so training takes ~7-14 min on 2 CPU cores (compute-bound, ~85 GFLOP/s).
HIDDEN = int(os.environ.get("HIDDEN", 128))
LAYERS = int(os.environ.get("LAYERS", 4))
HEADS = 4
KV_HEADS = 2             # grouped-query attention, as in current Llama/Qwen exports
HEAD_DIM = 32
INTERMEDIATE = int(os.environ.get("INTERMEDIATE", 384))
MAX_POSITIONS = 1024

# Training: fixed step count (not a time budget) so the result does not depend on machine load.
STEPS = int(os.environ.get("STEPS", 1400))
ROWS = int(os.environ.get("ROWS", 16))
ROW_LEN = 256
LR = float(os.environ.get("LR", 3e-3))
WARMUP = 50
COT_FRACTION = 0.6


def heldout_questions():
    return frozenset(p.question for p in make_heldout(N_HELDOUT, HELDOUT_SEED))


def model_config(vocab_size, tok):
    return {
        "vocab_size": vocab_size, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM,
        "intermediate_size": INTERMEDIATE, "max_position_embeddings": MAX_POSITIONS,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "bos_token_id": tok.bos_id, "eos_token_id": tok.eos_id, "pad_token_id": tok.pad_id,
    }
