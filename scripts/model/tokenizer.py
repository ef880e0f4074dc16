"""Word-level tokenizer with whole-number tokens, written as a Hugging Face tokenizer.json.

Pre-tokenizer: a regex Split (behavior Isolated) into pieces that carry their leading space:
" word", " 17", " +", "\n\n", "\n", " ". A piece in the vocabulary is one token; anything else falls back
to one token per character (unknown characters become <unk>). This is encoded as a BPE model with an
empty merge list and ignore_merges=true, because @huggingface/tokenizers (JS) has no WordLevel model.
Decoder Fuse: tokens are concatenated verbatim, so spaces and newlines round-trip exactly.
No post-processor: encode() adds no BOS/EOS.
"""
import json
import re
import string

from problems import (ADD_TEMPLATES, COT_TRIGGER, CONTAINERS, FEMALE, MALE, OBJECTS, SUB_TEMPLATES,
                      VALUE_MAX)

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = [PAD, BOS, EOS, UNK]
PIECE_REGEX = r" ?[A-Za-z']+| ?\d+| ?[^\sA-Za-z\d]|\n+| +|\s"
# Single characters so that any text outside the vocabulary still encodes (as characters).
CHARS = list(" \n\t" + string.ascii_letters + string.digits + string.punctuation)
# Numbers get a token each up to this bound; larger ones are spelled digit by digit.
NUMBER_MAX = 120
# Instruction-like preambles seen in training (as a chat "system" message would render them).
PREAMBLES = ["Solve the math word problems.", "Answer the questions.",
             "Solve each problem and give the answer.", "You are a helpful math assistant."]


def vocabulary_texts():
    """Every word the problem generator and the prompt format can produce."""
    texts = ADD_TEMPLATES + SUB_TEMPLATES + PREAMBLES + [
        "Q: A: The answer is. How many does have now? has with in each. Then then he she him her",
        COT_TRIGGER, " ".join(MALE + FEMALE + OBJECTS + CONTAINERS)]
    return texts


class Tokenizer:
    def __init__(self):
        pieces = set()
        for text in vocabulary_texts():
            for word in re.findall(r"[A-Za-z']+", text):
                pieces.update({word, " " + word, word.capitalize(), " " + word.capitalize()})
        pieces.update(f" {n}" for n in range(NUMBER_MAX + 1))
        pieces.update(" " + c for c in "+-*=.,?:!")
        pieces.update({"\n\n", "Q", " Q"})
        chars = [c for c in CHARS]
        words = sorted(p for p in pieces if p not in chars)
        self.itos = SPECIALS + chars + words
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = (self.stoi[s] for s in SPECIALS)
        self.stop_id = self.stoi["\n\n"]
        self._pieces = re.compile(PIECE_REGEX)
        self._specials = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")

    def __len__(self):
        return len(self.itos)

    def encode(self, text: str) -> list:
        ids = []
        for part in self._specials.split(text):
            if part in SPECIALS:
                ids.append(self.stoi[part])
                continue
            for piece in self._pieces.findall(part):
                if piece in self.stoi:
                    ids.append(self.stoi[piece])
                else:
                    ids.extend(self.stoi.get(c, self.unk_id) for c in piece)
        return ids

    def decode(self, ids) -> str:
        return "".join(self.itos[i] for i in ids)

    def write_hf(self, out_dir: str, max_length: int):
        added = [dict(id=i, content=s, single_word=False, lstrip=False, rstrip=False, normalized=False,
                      special=True) for i, s in enumerate(SPECIALS)]
        tokenizer_json = {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "Split", "pattern": {"Regex": PIECE_REGEX}, "behavior": "Isolated",
                              "invert": False},
            "post_processor": None,
            "decoder": {"type": "Fuse"},
            "model": {"type": "BPE", "dropout": None, "unk_token": UNK, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": True, "vocab": dict(self.stoi), "merges": []},
        }
        with open(f"{out_dir}/tokenizer.json", "w") as f:
            json.dump(tokenizer_json, f, ensure_ascii=False, indent=1)
        config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "unk_token": UNK,
            "add_bos_token": False, "add_eos_token": False,
            "model_max_length": max_length, "clean_up_tokenization_spaces": False,
            "padding_side": "left",
            "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
            "chat_template": CHAT_TEMPLATE,
        }
        with open(f"{out_dir}/tokenizer_config.json", "w") as f:
            json.dump(config, f, indent=1)


# Chat messages onto the plain Q:/A: text format. Content is trimmed so that "A: " + content gives the
# single leading space of the plain-text form (" The answer is 14.").
CHAT_TEMPLATE = (
    r"{% for message in messages %}"
    r"{% if message['role'] == 'system' %}{{ message['content'] | trim + '\n\n' }}"
    r"{% elif message['role'] == 'user' %}{{ 'Q: ' + message['content'] | trim + '\n' }}"
    r"{% elif message['role'] == 'assistant' %}{{ 'A: ' + message['content'] | trim + '\n\n' }}"
    r"{% endif %}"
    r"{% endfor %}"
    r"{% if add_generation_prompt %}{{ 'A:' }}{% endif %}"
)
