"""Classify Iris flowers with softmax (multinomial logistic) regression.

    exp run -c local iris.py 0.1        # learning rate 0.1
    exp run -c docker iris.py 0.05      # the same, in a container

Standard library only, so it runs with any Python 3 on any target. It logs
the hyper-parameters, a per-epoch loss and accuracy series and the final
test accuracy with ``expkit.log``, and writes ``outputs/model.json`` and
``outputs/confusion_matrix.txt``, which expkit keeps with the run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import sys
from pathlib import Path

try:
    from expkit import log
except ImportError:  # run with plain `python iris.py`, outside expkit

    def log(name, value, description=""):
        pass  # the script prints its own summary


HERE = Path(__file__).resolve().parent
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def load(path: Path) -> tuple[list[list[float]], list[str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [[float(row[f]) for f in FEATURES] for row in rows], [row["species"] for row in rows]


def split(x, y, test_share: float, seed: int):
    order = list(range(len(x)))
    random.Random(seed).shuffle(order)
    cut = int(len(order) * (1 - test_share))
    pick = lambda idx: ([x[i] for i in idx], [y[i] for i in idx])  # noqa: E731
    return pick(order[:cut]), pick(order[cut:])


def standardiser(x):
    means = [sum(col) / len(col) for col in zip(*x)]
    stds = [math.sqrt(sum((v - m) ** 2 for v in col) / len(col)) or 1.0
            for col, m in zip(zip(*x), means)]
    return means, stds


def scale(x, means, stds):
    return [[(v - m) / s for v, m, s in zip(row, means, stds)] for row in x]


def softmax(scores):
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def probabilities(weights, row):
    # weights[k] = [bias, w1..w4] for class k
    return softmax([w[0] + sum(wi * xi for wi, xi in zip(w[1:], row)) for w in weights])


def train_epoch(weights, x, targets, rate, l2):
    """One full-batch gradient step; returns the mean cross-entropy before it."""
    grads = [[0.0] * len(w) for w in weights]
    loss = 0.0
    for row, target in zip(x, targets):
        probs = probabilities(weights, row)
        loss -= math.log(max(probs[target], 1e-12))
        for k, p in enumerate(probs):
            err = p - (1.0 if k == target else 0.0)
            grads[k][0] += err
            for j, value in enumerate(row, start=1):
                grads[k][j] += err * value
    n = len(x)
    for k, w in enumerate(weights):
        for j in range(len(w)):
            penalty = l2 * w[j] if j else 0.0
            w[j] -= rate * (grads[k][j] / n + penalty)
    return loss / n


def accuracy(weights, x, targets):
    hits = sum(predict(weights, row) == t for row, t in zip(x, targets))
    return hits / len(targets)


def predict(weights, row):
    probs = probabilities(weights, row)
    return probs.index(max(probs))


def confusion(weights, x, targets, classes):
    matrix = [[0] * len(classes) for _ in classes]
    for row, target in zip(x, targets):
        matrix[target][predict(weights, row)] += 1
    width = max(len(c) for c in classes) + 2
    lines = ["actual \\ predicted".ljust(width + 8) + "".join(c.rjust(width) for c in classes)]
    for name, counts in zip(classes, matrix):
        lines.append(name.ljust(width + 8) + "".join(str(n).rjust(width) for n in counts))
    return matrix, "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    rate = float(argv[0]) if argv else 0.1
    epochs = int(os.environ.get("EPOCHS", "60"))
    l2 = float(os.environ.get("L2", "0.001"))
    if not 0 < rate <= 10:
        print(f"learning rate must be in (0, 10], got {rate}", file=sys.stderr)
        return 2
    print(f"Python {sys.version.split()[0]}; learning rate {rate}, {epochs} epochs, l2 {l2}")
    log("learning_rate", rate)
    log("epochs", epochs)

    x, labels = load(HERE / "iris.csv")
    classes = sorted(set(labels))
    y = [classes.index(label) for label in labels]
    (train_x, train_y), (test_x, test_y) = split(x, y, test_share=0.3, seed=7)
    means, stds = standardiser(train_x)
    train_x, test_x = scale(train_x, means, stds), scale(test_x, means, stds)

    weights = [[0.0] * (len(FEATURES) + 1) for _ in classes]
    for epoch in range(1, epochs + 1):
        loss = train_epoch(weights, train_x, train_y, rate, l2)
        log("loss", round(loss, 6))
        log("train_accuracy", round(accuracy(weights, train_x, train_y), 4))
        if epoch % 10 == 0 or epoch == epochs:
            print(f"epoch {epoch:3d}  loss {loss:.4f}")

    test_accuracy = accuracy(weights, test_x, test_y)
    matrix, table = confusion(weights, test_x, test_y, classes)
    log("accuracy", round(test_accuracy, 4))
    log("per_class_recall", [round(row[i] / max(sum(row), 1), 4) for i, row in enumerate(matrix)])
    print(f"test accuracy {test_accuracy:.3f} on {len(test_y)} flowers")
    print(table, end="")

    outputs = Path(os.environ.get("EXPKIT_OUTPUTS_DIR", "outputs"))
    outputs.mkdir(parents=True, exist_ok=True)
    model = {"classes": classes, "features": list(FEATURES), "means": means, "stds": stds,
             "weights": weights, "learning_rate": rate, "epochs": epochs}
    (outputs / "model.json").write_text(json.dumps(model, indent=2) + "\n")
    (outputs / "confusion_matrix.txt").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
