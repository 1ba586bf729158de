"""What the Spark end-to-end tests submit: one word count, the same on every target.

``WORDCOUNT`` counts the words of ``words.txt`` (in the project) on the
executors, checks the Spark configuration of ``spark_dependencies.yml`` is
visible inside the job, imports ``wcutil`` (a wheel listed in
conda_dependencies.yml) *on the executors*, writes ``outputs/counts.json``
and logs metrics from the driver.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from expkit.testing import build_wheel

WORDS = "the quick brown fox jumps over the lazy dog the fox\n" * 7 + "spark spark end\n"
EXPECTED = Counter(WORDS.split())

WORDCOUNT = """
import json, os, sys
from pyspark.sql import SparkSession
from expkit import log

spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
with open("words.txt", encoding="utf-8") as f:
    words = f.read().split()
pairs = sc.parallelize(words, 4).map(lambda w: (w, 1))
counts = dict(pairs.reduceByKey(lambda a, b: a + b).collect())


def probe(_rows):
    import wcutil  # from conda_dependencies.yml, imported where the task runs
    yield wcutil.MARK, sys.executable


on_executors = sc.parallelize(range(4), 2).mapPartitions(probe).collect()
os.makedirs("outputs", exist_ok=True)
with open("outputs/counts.json", "w", encoding="utf-8") as out:
    json.dump(counts, out, sort_keys=True)
log("words", sum(counts.values()))
log("distinct", len(counts))
log("marker", spark.conf.get("spark.expkit.marker"))
log("executor_import", sorted({mark for mark, _ in on_executors}))
print("counted", sum(counts.values()), "words; args", sys.argv[1:], flush=True)
print("executor pythons", sorted({exe for _, exe in on_executors}), flush=True)
spark.stop()
"""

SPARK_DEPENDENCIES = """
configuration:
  "spark.expkit.marker": "from spark_dependencies.yml"
  "spark.ui.enabled": "false"
  "spark.app.name": "expkit wordcount"
"""

WCUTIL = 'MARK = "wcutil-1.0"\n'


def wcutil_wheel(folder: Path) -> Path:
    return build_wheel(folder, "wcutil", "1.0", WCUTIL)


def write_job(project, *, pip: list[str], python: str = "3.11") -> None:
    """job.py, words.txt, spark_dependencies.yml and conda_dependencies.yml."""
    project.write("job.py", WORDCOUNT)
    project.write("words.txt", WORDS)
    project.write("aml_config/spark_dependencies.yml", SPARK_DEPENDENCIES)
    lines = ["name: wordcount", "dependencies:", f"  - python={python}", "  - pip:"]
    lines += [f"    - {entry}" for entry in pip]
    project.write("aml_config/conda_dependencies.yml", "\n".join(lines) + "\n")


def check_wordcount(project, record: dict) -> None:
    """The run's numbers, metrics and collected outputs are the word count's."""
    assert record["status"] == "completed" and record["exit_code"] == 0, record
    assert record["metrics"] == {
        "words": sum(EXPECTED.values()),
        "distinct": len(EXPECTED),
        "marker": "from spark_dependencies.yml",
        "executor_import": ["wcutil-1.0"],
    }
    assert record["outputs"] == ["counts.json"]
    collected = project.root / ".exp" / "runs" / record["id"] / "outputs" / "counts.json"
    assert json.loads(collected.read_text(encoding="utf-8")) == dict(EXPECTED)


def runconfig(target: str, *, framework: str = "PySpark", env: dict | None = None) -> str:
    variables = {"SPARK_LOCAL_IP": "127.0.0.1", **(env or {})}
    lines = [
        'ArgumentVector: ["$file"]',
        f'Target: "{target}"',
        f'Framework: "{framework}"',
        'CondaDependenciesFile: "aml_config/conda_dependencies.yml"',
        'SparkDependenciesFile: "aml_config/spark_dependencies.yml"',
        "EnvironmentVariables:",
        *[f"  {k}: {json.dumps(v)}" for k, v in variables.items()],
    ]
    return "\n".join(lines) + "\n"
