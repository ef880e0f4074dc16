"""Accuracy on the held-out problems: direct vs chain of thought, zero-shot vs few-shot (greedy), and one
sampled chain vs the majority vote of 8 sampled chains.

Usage: evaluate.py WORK_DIR OUT_DIR   (reads WORK_DIR/model.pt; writes OUT_DIR/eval.json, OUT_DIR/heldout.jsonl)

Generation mirrors what the extension does with the ONNX model: left-padded batch, attention_mask and
position_ids, KV cache, stop at "\n\n" or EOS.
"""
import collections
import json
import random
import sys
import time

import torch

import settings
from model import TinyLlama, cached_attention_mask
from problems import make_heldout, make_problem, parse_answer, render_prompt
from tokenizer import Tokenizer

torch.set_num_threads(2)
SHOTS = 3
VOTES = 8
TEMPERATURE = 0.8
MAX_NEW_TOKENS = 48
BATCH = 250


@torch.no_grad()
def generate(model, tok, prompts, temperature=0.0, generator=None):
    """Continuations of the prompts (text up to, not including, "\n\n"/EOS)."""
    encoded = [tok.encode(p) for p in prompts]
    width = max(map(len, encoded))
    ids = torch.full((len(prompts), width), tok.pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, e in enumerate(encoded):  # left padding, as for a batch of chains
        ids[i, width - len(e):] = torch.tensor(e)
        mask[i, width - len(e):] = 1
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    logits, past = model(ids, positions, cached_attention_mask(mask, width))
    out = [[] for _ in prompts]
    done = torch.zeros(len(prompts), dtype=torch.bool)
    next_pos = positions[:, -1:] + 1
    for _ in range(MAX_NEW_TOKENS):
        last = logits[:, -1]
        if temperature > 0:
            nxt = torch.multinomial(torch.softmax(last / temperature, -1), 1, generator=generator)[:, 0]
        else:
            nxt = last.argmax(-1)
        for i in range(len(prompts)):
            if not done[i]:
                if nxt[i].item() in (tok.stop_id, tok.eos_id):
                    done[i] = True
                else:
                    out[i].append(nxt[i].item())
        if done.all():
            break
        mask = torch.cat([mask, torch.ones(len(prompts), 1, dtype=torch.long)], 1)
        logits, past = model(nxt[:, None], next_pos, cached_attention_mask(mask, 1), past)
        next_pos = next_pos + 1
    return [tok.decode(o) for o in out]


def batched(model, tok, prompts, **kw):
    out = []
    for i in range(0, len(prompts), BATCH):
        out += generate(model, tok, prompts[i:i + BATCH], **kw)
    return out


def accuracy(outputs, problems):
    return sum(parse_answer(o) == p.answer for o, p in zip(outputs, problems)) / len(problems)


def majority(answers):
    votes = collections.Counter(a for a in answers if a is not None)
    return votes.most_common(1)[0][0] if votes else None


def main():
    work_dir, out_dir = sys.argv[1], sys.argv[2]
    checkpoint = torch.load(f"{work_dir}/model.pt")
    model = TinyLlama(checkpoint["config"])
    model.load_state_dict(checkpoint["state"])
    model.eval()
    tok = Tokenizer()
    heldout = make_heldout(settings.N_HELDOUT, settings.HELDOUT_SEED)
    held_q = {p.question for p in heldout}
    shot_rng = random.Random(settings.FEWSHOT_SEED)
    shot_pool = [p for p in (make_problem(shot_rng) for _ in range(400)) if p.question not in held_q]

    def shots_for(i):  # a different fixed set of solved examples per question
        return [shot_pool[(i * SHOTS + k) % len(shot_pool)] for k in range(SHOTS)]

    settings_prompts = {
        "zero_shot_direct": [render_prompt([], p, cot=False) for p in heldout],
        "zero_shot_cot": [render_prompt([], p, cot=True, trigger=True) for p in heldout],
        "few_shot_direct": [render_prompt(shots_for(i), p, cot=False) for i, p in enumerate(heldout)],
        "few_shot_cot": [render_prompt(shots_for(i), p, cot=True) for i, p in enumerate(heldout)],
    }
    t0 = time.time()
    greedy, examples = {}, {}
    for name, prompts in settings_prompts.items():
        outputs = batched(model, tok, prompts)
        greedy[name] = round(accuracy(outputs, heldout), 4)
        examples[name] = outputs[0]
        print(f"greedy {name}: {greedy[name]:.3f}   e.g. {outputs[0]!r}", flush=True)

    generator = torch.Generator().manual_seed(settings.SEED)
    sampled = {}
    for name in ("zero_shot_cot", "few_shot_cot", "zero_shot_direct"):
        prompts = settings_prompts[name]
        repeated = [p for p in prompts for _ in range(VOTES)]
        outputs = batched(model, tok, repeated, temperature=TEMPERATURE, generator=generator)
        answers = [parse_answer(o) for o in outputs]
        per_problem = [answers[i * VOTES:(i + 1) * VOTES] for i in range(len(heldout))]
        single = sum(a == p.answer for votes, p in zip(per_problem, heldout) for a in votes) / len(answers)
        first = sum(votes[0] == p.answer for votes, p in zip(per_problem, heldout)) / len(heldout)
        vote = sum(majority(votes) == p.answer for votes, p in zip(per_problem, heldout)) / len(heldout)
        sampled[name] = {"single_sample_mean": round(single, 4), "single_sample_first": round(first, 4),
                         f"majority_of_{VOTES}": round(vote, 4)}
        print(f"T={TEMPERATURE} {name}: single {single:.3f} (first chain {first:.3f})  "
              f"majority of {VOTES} {vote:.3f}", flush=True)

    with open(f"{work_dir}/train_log.json") as f:
        train_log = json.load(f)
    result = {
        "training": {k: train_log[k] for k in ("params", "steps", "rows", "row_len", "train_seconds")},
        "heldout_problems": len(heldout), "few_shot_examples": SHOTS,
        "greedy_accuracy": greedy,
        "sampling": {"temperature": TEMPERATURE, "chains": VOTES, "accuracy": sampled},
        "notes": "single_sample_mean averages all 8 chains of a problem (the expected accuracy of one "
                 "sample); majority vote ignores chains without a parsable answer.",
        "example_outputs": examples,
        "eval_seconds": round(time.time() - t0, 1),
    }
    with open(f"{out_dir}/eval.json", "w") as f:
        json.dump(result, f, indent=1)
    with open(f"{out_dir}/heldout.jsonl", "w") as f:
        for p in heldout[:40]:
            f.write(json.dumps({"question": p.question, "answer": p.answer, "steps": p.steps_text()}) + "\n")


if __name__ == "__main__":
    main()
