#!/usr/bin/env python3
"""Parley's built-in intent classifier next to a TF-IDF + logistic-regression baseline, on CLINC150 with ten
examples per intent, in one run (Benchmarks/intents/run.sh calls this).

    evaluate.py PARLEY_BINARY [--json OUT]

Both are trained on the same 1,500 examples. For each: in-scope accuracy with no threshold (argmax), then, with a
threshold, in-scope accuracy (the right intent and a score at or over the threshold) and out-of-scope rejection (an
out-of-scope sentence scored under it). Parley is measured at its default threshold (0.5) and at the threshold that
maximises the mean of the two on the validation split; the baseline at its validation-chosen threshold (its
probabilities have no natural 0.5). Costs: per input, classifying the test split (Parley: `parley intents`, the
process start and the classifier's construction measured apart; the baseline: vectorising and predicting).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

here = os.path.dirname(os.path.abspath(__file__))


def load():
    with open(os.path.join(here, "clinc150-10shot.json")) as file:
        return json.load(file)


def write_flow(folder, train):
    intents = {}
    for text, label in train:
        intents.setdefault(label, []).append(text)
    lines = ["flow: clinc", "nlu: { threshold: 0 }", "intents:"]
    for label, examples in intents.items():
        lines.append(f"  {label}:")
        lines.append("    examples: [" + ", ".join(json.dumps(example) for example in examples) + "]")
    lines += ["nodes:", "  answer: { say: \"{{input.intent}}\" }"]
    with open(os.path.join(folder, "clinc.yaml"), "w") as file:
        file.write("\n".join(lines) + "\n")


def parley_classify(binary, folder, texts):
    """(best intent, score) per text, and the seconds it took."""
    start = time.perf_counter()
    run = subprocess.run([binary, "intents", "clinc", "--flows", folder], input="\n".join(texts) + "\n", capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    rows = []
    for line in run.stdout.splitlines():
        text, intent, score = line.rsplit("\t", 2)
        rows.append((None if intent == "-" else intent, float(score)))
    if len(rows) != len(texts):
        sys.exit(f"parley intents answered {len(rows)} lines for {len(texts)}")
    return rows, elapsed


def metrics(rows, labels, oos_rows, threshold):
    accuracy = np.mean([intent == label and score >= threshold for (intent, score), label in zip(rows, labels)])
    rejection = np.mean([score < threshold for _, score in oos_rows])
    return float(accuracy), float(rejection)


def best_threshold(rows, labels, oos_rows):
    candidates = [(sum(metrics(rows, labels, oos_rows, t)), t) for t in np.linspace(0, 1, 201)]
    return max(candidates)[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--json")
    args = parser.parse_args()
    data = load()
    train, val, oos_val, test, oos_test = data["train"], data["val"], data["oos_val"], data["test"], data["oos_test"]
    val_texts, val_labels = [t for t, _ in val], [l for _, l in val]
    test_texts, test_labels = [t for t, _ in test], [l for _, l in test]

    with tempfile.TemporaryDirectory() as folder:
        write_flow(folder, train)
        _, startup = parley_classify(args.binary, folder, ["hello"])
        parley_val, _ = parley_classify(args.binary, folder, val_texts + oos_val)
        parley_test, parley_seconds = parley_classify(args.binary, folder, test_texts + oos_test)
    pv, pvo = parley_val[: len(val)], parley_val[len(val):]
    pt, pto = parley_test[: len(test)], parley_test[len(test):]
    parley_raw = float(np.mean([intent == label for (intent, _), label in zip(pt, test_labels)]))
    parley_default = metrics(pt, test_labels, pto, 0.5)
    parley_threshold = best_threshold(pv, val_labels, pvo)
    parley_tuned = metrics(pt, test_labels, pto, parley_threshold)
    parley_per_input = (parley_seconds - startup) / (len(test) + len(oos_test))

    # The baseline: C chosen by validation accuracy.
    fit_start = time.perf_counter()
    best = None
    for c in [1, 10, 100]:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        x = vectorizer.fit_transform([t for t, _ in train])
        model = LogisticRegression(C=c, max_iter=3000).fit(x, [l for _, l in train])
        accuracy = float(np.mean(model.predict(vectorizer.transform(val_texts)) == np.array(val_labels)))
        if best is None or accuracy > best[0]:
            best = (accuracy, c, vectorizer, model)
    fit_seconds = time.perf_counter() - fit_start
    _, c, vectorizer, model = best

    def baseline(texts):
        probabilities = model.predict_proba(vectorizer.transform(texts))
        top = probabilities.argmax(1)
        return [(model.classes_[i], float(probabilities[k, i])) for k, i in enumerate(top)]

    bv, bvo = baseline(val_texts), baseline(oos_val)
    predict_start = time.perf_counter()
    bt, bto = baseline(test_texts), baseline(oos_test)
    baseline_per_input = (time.perf_counter() - predict_start) / (len(test) + len(oos_test))
    # One sentence at a time, as a bot classifies one input per turn.
    single = test_texts[:500]
    single_start = time.perf_counter()
    for text in single:
        baseline([text])
    baseline_single = (time.perf_counter() - single_start) / len(single)
    baseline_raw = float(np.mean([intent == label for (intent, _), label in zip(bt, test_labels)]))
    baseline_threshold = best_threshold(bv, val_labels, bvo)
    baseline_tuned = metrics(bt, test_labels, bto, baseline_threshold)

    result = {
        "examples": len(train), "intents": len({l for _, l in train}), "test": len(test), "oosTest": len(oos_test),
        "parley": {"accuracy": parley_raw, "default": {"threshold": 0.5, "inScope": parley_default[0], "oosRejection": parley_default[1]},
                   "tuned": {"threshold": float(parley_threshold), "inScope": parley_tuned[0], "oosRejection": parley_tuned[1]},
                   "microsecondsPerInput": parley_per_input * 1e6, "startSeconds": startup},
        "baseline": {"C": c, "accuracy": baseline_raw,
                     "tuned": {"threshold": float(baseline_threshold), "inScope": baseline_tuned[0], "oosRejection": baseline_tuned[1]},
                     "microsecondsPerInput": baseline_per_input * 1e6, "microsecondsPerSingleInput": baseline_single * 1e6,
                     "fitSeconds": fit_seconds},
    }
    print(f"CLINC150, {result['intents']} intents x 10 examples; test: {len(test)} in-scope, {len(oos_test)} out-of-scope")
    print("| classifier | accuracy (argmax) | threshold | in-scope accuracy | out-of-scope rejection | cost per input, one at a time |")
    print("|---|---|---|---|---|---|")
    print(f"| Parley built-in, default threshold | {parley_raw:.3f} | 0.50 | {parley_default[0]:.3f} | {parley_default[1]:.3f} | {parley_per_input * 1e6:.0f} µs |")
    print(f"| Parley built-in, threshold from validation | {parley_raw:.3f} | {parley_threshold:.2f} | {parley_tuned[0]:.3f} | {parley_tuned[1]:.3f} | |")
    print(f"| TF-IDF (1-2 grams) + logistic regression (C={c}), threshold from validation | {baseline_raw:.3f} | {baseline_threshold:.2f} | {baseline_tuned[0]:.3f} | {baseline_tuned[1]:.3f} | {baseline_single * 1e6:.0f} µs ({baseline_per_input * 1e6:.0f} µs in one batch) |")
    print(f"ratios Parley/baseline: accuracy {parley_raw / baseline_raw:.2f}, in-scope at tuned thresholds {parley_tuned[0] / baseline_tuned[0]:.2f}, "
          f"out-of-scope rejection {parley_tuned[1] / baseline_tuned[1]:.2f}, cost per input {parley_per_input / baseline_single:.2f} (one at a time), "
          f"{parley_per_input / baseline_per_input:.2f} (against the batch)")
    print(f"parley intents start-up with 1,500 examples: {startup * 1000:.0f} ms (process start, flow loading, classifier); baseline fit (3 values of C): {fit_seconds * 1000:.0f} ms")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(result, file, indent=2)


if __name__ == "__main__":
    main()
