"""benches/cluster.sh's table: per run, wall seconds and peak RSS of each process (GNU time),
the stage seconds from the run's manifest, and whether each cluster run wrote the local run's
tables, column for column (the run's own id and times aside, as tests/it/distributed.rs)."""
import argparse
import json
import pathlib
import re

import pyarrow.parquet as pq

TABLES = ["golden", "crosswalk", "decisions", "review", "lineage", "records", "rejects"]


def gnu_time(path):
    """Wall seconds and peak RSS MiB from a `/usr/bin/time -v` report."""
    text = path.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    h, m, s = (float(g) if g else 0.0 for g in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return {"wall_s": round(h * 3600 + m * 60 + s, 2), "peak_rss_mib": rss // 1024}


def of_the_run(column):
    return "run" in column or column.endswith("_at")


def differences(local, other):
    """Names of tables, columns or manifest counts where `other` differs from `local`."""
    found = []
    for name in TABLES:
        a = pq.read_table(local / f"{name}.parquet")
        b = pq.read_table(other / f"{name}.parquet")
        if a.schema != b.schema or a.num_rows != b.num_rows:
            found.append(f"{name}: schema or rows")
            continue
        found += [f"{name}.{c}" for c in a.column_names
                  if not of_the_run(c) and not a.column(c).equals(b.column(c))]
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (local, other))
    found += [f"manifest.{k}" for k in ("counts", "blocking", "weight_histogram") if ma[k] != mb[k]]
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=pathlib.Path, required=True)
    ap.add_argument("--shuffle-bytes", type=int, required=True)
    args = ap.parse_args()
    logs, runs = args.work / "logs", {}
    local = (args.work / "out-local" / "latest").resolve()
    for label in ("local", "standalone", "cluster"):
        run = (args.work / f"out-{label}" / "latest").resolve()
        manifest = json.loads((run / "manifest.json").read_text())
        runs[label] = {
            **gnu_time(logs / f"{label}.time"),
            "stages_s": manifest["timings_s"],
            "candidate_pairs": manifest["counts"].get("candidate_pairs"),
            "differs_from_local": differences(local, run) if label != "local" else [],
        }
    processes = {p: gnu_time(logs / f"{p}.time") for p in ("scheduler", "executor-1", "executor-2")}
    print(json.dumps({"runs": runs, "cluster_processes": processes,
                      "shuffle_bytes_after_job": args.shuffle_bytes}, indent=2))


main()
