"""Writes crates/adversarial/tests/fixtures/bleu_golden.json: token-id references and
hypotheses with the BLEU-2/3/4 that NLTK 3.9.1 gives them the way Texygen scores text GANs
(`sentence_bleu(references, hypothesis, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)` per hypothesis, then the mean), to check
metrics/bleu.rs.

Run with a Python that has nltk==3.9.1 (e.g. the project's .venv plus
`pip install nltk==3.9.1`)."""
import json, pathlib, random
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

rng = random.Random(0)
vocab = 12  # small, so n-grams repeat and every branch (clipping, smoothing, brevity) occurs
refs = [[rng.randrange(vocab) for _ in range(rng.randint(3, 12))] for _ in range(40)]
hyps = [[rng.randrange(vocab) for _ in range(rng.randint(1, 14))] for _ in range(60)]
hyps += [refs[0][:], refs[1][:2], [vocab + 1] * 3]  # exact, short, and no unigram match
smooth = SmoothingFunction().method1
per = {}
for n in (2, 3, 4):
    w = tuple(1.0 / n for _ in range(n))
    per[str(n)] = [sentence_bleu(refs, h, w, smoothing_function=smooth) for h in hyps]
out = pathlib.Path(__file__).resolve().parent.parent / "crates/adversarial/tests/fixtures/bleu_golden.json"
out.write_text(json.dumps({
    "references": refs,
    "hypotheses": hyps,
    "sentence_bleu": per,
    "source": "nltk 3.9.1 sentence_bleu, uniform weights, SmoothingFunction().method1",
}))
print(out, {n: sum(v) / len(v) for n, v in per.items()})
