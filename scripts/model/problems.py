"""Synthetic multi-step arithmetic word problems and the Q:/A: prompt text format.

The text format is a contract with the TypeScript prompt renderer:
    Q: <problem>\nA: <answer>\n\nQ: <problem>\nA:
Direct answer:  " The answer is 14."
Chain of thought: " 12 + 5 = 17. 17 - 3 = 14. The answer is 14."  (one equation per step)
"""
import random
from dataclasses import dataclass

COT_TRIGGER = " Let's think step by step."
STOP = "\n\n"

MALE = ["Tom", "Bob", "Max", "Sam", "Joe", "Ben", "Leo", "Dan"]
FEMALE = ["Ann", "Sue", "Eva", "Lia", "Kim", "Mia", "Zoe", "Amy"]
OBJECTS = ["apples", "eggs", "cards", "coins", "books", "pens", "shells", "stamps",
           "marbles", "stickers", "cookies", "balls"]
CONTAINERS = ["bags", "boxes", "packs", "jars"]

# {p}: subject pronoun, {o}: object pronoun, {f}: a friend's name, {n}: the amount
ADD_TEMPLATES = ["{p} buys {n} more.", "{p} finds {n} more.", "{p} gets {n} more from {f}.",
                 "{p} wins {n} more.", "{f} gives {o} {n} more."]
SUB_TEMPLATES = ["{p} gives {n} to {f}.", "{p} loses {n}.", "{p} sells {n}.", "{p} gives away {n}.",
                 "{p} uses {n}."]

START_MAX = 20
AMOUNT_MAX = 10
VALUE_MAX = 60  # every intermediate and final value stays in 0..VALUE_MAX


@dataclass(frozen=True)
class Problem:
    question: str
    steps: tuple  # equations such as "12 + 5 = 17"
    answer: int

    def steps_text(self) -> str:
        return " ".join(f"{eq}." for eq in self.steps)

    def cot_answer(self) -> str:
        return f" {self.steps_text()} The answer is {self.answer}."

    def direct_answer(self) -> str:
        return f" The answer is {self.answer}."


def make_problem(rng: random.Random) -> Problem:
    """A 2-3 step problem: a start value (sometimes a small product) then add/subtract steps."""
    while True:
        is_male = rng.random() < 0.5
        name = rng.choice(MALE if is_male else FEMALE)
        friend = rng.choice([x for x in MALE + FEMALE if x != name])
        subj, obj = ("He", "him") if is_male else ("She", "her")
        item = rng.choice(OBJECTS)
        sentences, steps = [], []
        if rng.random() < 0.25:  # multiply step: "3 bags with 4 apples in each"
            count, each = rng.randint(2, 5), rng.randint(2, 10)
            value = count * each
            sentences.append(f"{name} has {count} {rng.choice(CONTAINERS)} with {each} {item} in each.")
            steps.append(f"{count} * {each} = {value}")
            n_ops = rng.choice([1, 2])
        else:
            value = rng.randint(2, START_MAX)
            sentences.append(f"{name} has {value} {item}.")
            n_ops = rng.choice([2, 3])
        for i in range(n_ops):
            amount = rng.randint(1, AMOUNT_MAX)
            add = rng.random() < 0.5
            new_value = value + amount if add else value - amount
            if not 0 <= new_value <= VALUE_MAX:
                add, new_value = not add, (value - amount if add else value + amount)
            if not 0 <= new_value <= VALUE_MAX:
                break
            template = rng.choice(ADD_TEMPLATES if add else SUB_TEMPLATES)
            sentence = template.format(p=subj, o=obj, f=friend, n=amount)
            if i > 0 and rng.random() < 0.5:
                sentence = "Then " + sentence[0].lower() + sentence[1:] if sentence.startswith(subj) \
                    else "Then " + sentence
            sentences.append(sentence)
            steps.append(f"{value} {'+' if add else '-'} {amount} = {new_value}")
            value = new_value
        else:
            sentences.append(f"How many {item} does {name} have now?")
            return Problem(" ".join(sentences), tuple(steps), value)


def make_heldout(n: int, seed: int, exclude=frozenset()) -> list:
    """n distinct problems from their own seed, none of whose questions is in `exclude`."""
    rng, seen, out = random.Random(seed), set(exclude), []
    while len(out) < n:
        p = make_problem(rng)
        if p.question not in seen:
            seen.add(p.question)
            out.append(p)
    return out


def question_block(p: Problem) -> str:
    return f"Q: {p.question}\nA:"


def render_prompt(shots, target: Problem, cot: bool, trigger: bool = False) -> str:
    """Few-shot prompt exactly as the TypeScript renderer builds it; ends right after "A:" (+ trigger)."""
    parts = [question_block(s) + (s.cot_answer() if cot else s.direct_answer()) + STOP for s in shots]
    return "".join(parts) + question_block(target) + (COT_TRIGGER if trigger else "")


def parse_answer(text: str):
    """The number after the last "The answer is", or None."""
    head, sep, tail = text.rpartition("The answer is ")
    if not sep:
        return None
    digits = ""
    for ch in tail.lstrip():
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


if __name__ == "__main__":
    r = random.Random(0)
    for _ in range(4):
        p = make_problem(r)
        print(render_prompt([], p, cot=True, trigger=True) + p.cot_answer())
