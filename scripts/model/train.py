"""Train the tiny model on packed Q:/A: documents of synthetic word problems (CPU, seeded).

Usage: train.py WORK_DIR   (writes WORK_DIR/model.pt, WORK_DIR/train_log.json)

A document is a zero-shot or few-shot prompt in one style (all direct or all chain of thought) followed
by the answer; the loss covers every answer in it (including the few-shot examples' answers) plus the
"\n\n" that ends an answer, never the questions. Documents are packed into fixed-length rows with a
block-diagonal mask, so no document sees another.
"""
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

from model import TinyLlama
from problems import COT_TRIGGER, STOP, make_problem, question_block
from tokenizer import BOS, EOS, PREAMBLES, Tokenizer
import settings

torch.set_num_threads(2)


def training_document(rng: random.Random, heldout_questions):
    """Segments (text, loss_weight, mask_first_token) of one training document."""
    def fresh_problem():
        while True:
            p = make_problem(rng)
            if p.question not in heldout_questions:
                return p

    cot = rng.random() < settings.COT_FRACTION
    n_examples = rng.choices([1, 2, 3, 4], weights=[0.35, 0.2, 0.25, 0.2])[0]
    trigger_on_examples = cot and n_examples > 1 and rng.random() < 0.2
    trigger_on_last = cot and (n_examples == 1 or trigger_on_examples or rng.random() < 0.3)
    segments = []
    if rng.random() < 0.3:
        segments.append((BOS, 0.0, False))
    if rng.random() < 0.08:
        segments.append((rng.choice(PREAMBLES) + STOP, 0.0, False))
    for i in range(n_examples):
        p = fresh_problem()
        last = i == n_examples - 1
        trigger = trigger_on_last if last else trigger_on_examples
        segments.append((question_block(p) + (COT_TRIGGER if trigger else ""), 0.0, False))
        # Without a trigger the first answer's first token says "CoT or not": leave it unlearned so
        # that a zero-shot prompt without the trigger defaults to a direct answer.
        ambiguous_start = cot and i == 0 and not trigger
        segments.append(((p.cot_answer() if cot else p.direct_answer()) + STOP, 1.0, ambiguous_start))
    segments.append((EOS, 1.0, False))
    return segments


def encode_document(tok: Tokenizer, segments):
    ids, weights = [], []
    for text, weight, mask_first in segments:
        seg = tok.encode(text)
        w = [weight] * len(seg)
        if mask_first:
            w[0] = 0.0
        ids += seg
        weights += w
    return ids, weights


class PackedBatches:
    """Rows of settings.ROW_LEN tokens filled with whole documents; yields tensors for one step."""

    def __init__(self, tok, rng, heldout_questions):
        self.tok, self.rng, self.heldout = tok, rng, heldout_questions
        self.pending = None

    def next_doc(self):
        doc, self.pending = self.pending, None
        while doc is None or len(doc[0]) > settings.ROW_LEN + 1:  # rare 4-shot giants do not fit a row
            doc = encode_document(self.tok, training_document(self.rng, self.heldout))
        return doc

    def batch(self, rows):
        L = settings.ROW_LEN + 1  # one extra: targets are inputs shifted by one
        ids = torch.full((rows, L), self.tok.pad_id, dtype=torch.long)
        weights = torch.zeros((rows, L))
        doc_index = torch.full((rows, L), -1, dtype=torch.long)
        positions = torch.zeros((rows, L), dtype=torch.long)
        for r in range(rows):
            used, d = 0, 0
            while True:
                doc_ids, doc_w = self.next_doc()
                n = len(doc_ids)
                if used + n > L:
                    self.pending = (doc_ids, doc_w)
                    break
                ids[r, used:used + n] = torch.tensor(doc_ids)
                weights[r, used:used + n] = torch.tensor(doc_w)
                doc_index[r, used:used + n] = d
                positions[r, used:used + n] = torch.arange(n)
                used, d = used + n, d + 1
        x, y = ids[:, :-1], ids[:, 1:]
        w = weights[:, 1:] * (doc_index[:, 1:] == doc_index[:, :-1])  # never predict across documents
        di = doc_index[:, :-1]
        T = x.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = (di.unsqueeze(2) == di.unsqueeze(1)) & causal  # [B, T, T] block-diagonal causal
        return x, positions[:, :-1], allowed.unsqueeze(1), y, w


def main():
    work_dir = sys.argv[1]
    os.makedirs(work_dir, exist_ok=True)
    torch.manual_seed(settings.SEED)
    tok = Tokenizer()
    heldout_questions = settings.heldout_questions()
    cfg = settings.model_config(len(tok), tok)
    model = TinyLlama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params={n_params} vocab={len(tok)} steps={settings.STEPS} rows={settings.ROWS}x{settings.ROW_LEN}",
          flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=settings.LR, betas=(0.9, 0.98))
    batches = PackedBatches(tok, random.Random(settings.SEED), heldout_questions)
    t0, ema, log = time.time(), None, []
    for step in range(settings.STEPS):
        frac = step / settings.STEPS
        lr = settings.LR * min(1.0, (step + 1) / settings.WARMUP) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, pos, allowed, y, w = batches.batch(settings.ROWS)
        logits, _ = model(x, pos, allowed)
        token_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        loss = (token_loss * w.reshape(-1)).sum() / w.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 50 == 0 or step == settings.STEPS - 1:
            el = time.time() - t0
            print(f"step {step} t={el:.0f}s lr={lr:.2e} loss={ema:.4f}", flush=True)
            log.append({"step": step, "seconds": round(el, 1), "loss_ema": round(ema, 4)})
    train_seconds = time.time() - t0
    print(f"done train_seconds={train_seconds:.1f}", flush=True)
    torch.save({"state": model.state_dict(), "config": cfg}, f"{work_dir}/model.pt")
    with open(f"{work_dir}/train_log.json", "w") as f:
        json.dump({"params": n_params, "steps": settings.STEPS, "rows": settings.ROWS, "row_len": settings.ROW_LEN,
                   "train_seconds": round(train_seconds, 1), "log": log}, f, indent=1)


if __name__ == "__main__":
    main()
