"""Writes all held-out problems (the 500 of eval.json) as JSON Lines, for the uncertainty tests.

Usage: heldout.py OUT_FILE   (pure Python: no model needed)
"""
import json
import sys

import settings
from problems import make_heldout


def main(out_file: str) -> None:
    with open(out_file, "w") as f:
        for p in make_heldout(settings.N_HELDOUT, settings.HELDOUT_SEED):
            f.write(json.dumps({"question": p.question, "answer": p.answer, "steps": ". ".join(p.steps) + "."}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
