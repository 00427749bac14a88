"""How much labels from the review band help (issue 13, item 3).

Usage: python3 labels.py GOLDEN DATA_DIR N
  DATA_DIR holds a quality data set made by benches/quality.sh (pipeline.toml, truth.csv).
  Runs golden on it without manual decisions, then takes the N review-band pairs closest to the
  match threshold (the ones a steward would be shown first), labels them from truth.csv as
  must_link / cannot_link into DATA_DIR/decisions/manual.csv, reruns golden, and prints pairwise
  F1 before and after with the model's label report. The manual file is removed afterwards.
"""
import csv
import io
import json
import os
import subprocess
import sys

golden, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])


def run(*args):
    return subprocess.run([golden, *args], cwd=d, capture_output=True, text=True, check=True).stdout


def pairwise_f1():
    out = run("evaluate", "out", "--truth", "truth.csv")
    line = next(l for l in out.splitlines() if l.startswith("pairwise"))
    return line.split("F1")[1].split()[0], line


manual = os.path.join(d, "decisions/manual.csv")
if os.path.exists(manual):
    sys.exit(f"{manual} exists: this script writes and removes that file; move it away first")
run("run", "pipeline.toml")
truth = {}
with open(os.path.join(d, "truth.csv")) as f:
    for r in csv.DictReader(f):
        truth[(r["source"], r["source_id"])] = r["entity_id"]
model = json.load(open(os.path.join(d, "out/latest/model.json")))
t = model.get("thresholds", {}).get("match_threshold", 0.5)
review = run("query", "out", "select left_source, left_id, right_source, right_id, match_probability "
             "from review", "--format", "csv")
rows = list(csv.DictReader(io.StringIO(review)))
rows.sort(key=lambda r: abs(float(r["match_probability"]) - t))
before = pairwise_f1()
os.makedirs(os.path.join(d, "decisions"), exist_ok=True)
with open(manual, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["left", "right", "decision", "reason", "author", "date"])
    for r in rows[:n]:
        same = truth.get((r["left_source"], r["left_id"])) == truth.get((r["right_source"], r["right_id"]))
        w.writerow([f"{r['left_source']}:{r['left_id']}", f"{r['right_source']}:{r['right_id']}",
                    "must_link" if same else "cannot_link", "labels.py", "truth", "2026-12-01"])
try:
    run("run", "pipeline.toml")
    after = pairwise_f1()
    labels = json.load(open(os.path.join(d, "out/latest/model.json"))).get("labels")
finally:
    os.remove(manual)
print(f"{os.path.basename(d)}\treview pairs {len(rows)}\tlabelled {min(n, len(rows))}\t"
      f"F1 before {before[0]}\tafter {after[0]}\tlabels {json.dumps(labels)}")
