"""The report of one benches/e2e.sh run: a table on stdout and DIR/e2e-summary-LABEL.json.

Sources, all in the data directory DIR: the run's manifest (counts, per-stage seconds, pairs per
blocking rule), GNU time's "wall KiB" line (time-LABEL.txt), `golden evaluate`'s pairwise line
(evaluate-LABEL.txt) and golden's JSON log at debug level (run-LABEL.log), whose
"stage resources" lines give each stage's CPU seconds and the peak RSS so far when it ended.
"""

import argparse
import json
import re

# Stages in the order a run executes them; anything new is listed after.
ORDER = ["checksum", "ingest", "standardize", "placeholders", "block", "compare", "train",
         "score", "write_records", "cluster", "write_decisions", "stable_ids", "survive", "write",
         "report", "checksum_outputs"]
# Stages whose work is the candidate pairs: for them µs per pair is the figure that should stay
# flat as the data grows; for the others, µs per record.
PAIR_STAGES = {"compare", "score", "cluster", "write_decisions"}


def stage_resources(log_path):
    """Per stage: {"cpu_seconds", "rss_mib", "peak_rss_mib"} from the "stage resources" lines.

    Stages that run side by side are logged as one line named "a+b+c"; each of them gets that
    line's figures.
    """
    resources = {}
    with open(log_path) as log:
        for line in log:
            if '"stage resources"' not in line:
                continue
            event = json.loads(line)
            if event.get("message") != "stage resources":
                continue
            figures = {k: event[k] for k in ("cpu_seconds", "rss_mib", "peak_rss_mib")}
            figures["logged_as"] = event["stage"]
            for stage in event["stage"].split("+"):
                resources[stage] = figures
    return resources


def pairwise(evaluate_path):
    """(precision, recall, F1) from `golden evaluate`'s pairwise line, or Nones."""
    text = open(evaluate_path).read()
    m = re.search(r"precision ([\d.]+)\s+recall ([\d.]+)\s+F1 ([\d.]+)", text)
    return tuple(float(x) for x in m.groups()) if m else (None, None, None)


def per_unit(seconds, units):
    """Microseconds per unit, or None when there are no units."""
    return seconds * 1e6 / units if units else None


def summarise(args):
    """The summary dict of the run."""
    d, label = args.dir, args.label
    manifest = json.load(open(f"{args.out}/latest/manifest.json"))
    wall, rss_kib = open(f"{d}/time-{label}.txt").read().split()[-2:]
    precision, recall, f1 = pairwise(f"{d}/evaluate-{label}.txt")
    resources = stage_resources(f"{d}/run-{label}.log")
    counts, timings = manifest["counts"], manifest["timings_s"]
    records, pairs = counts["records"], counts["candidate_pairs"]
    names = [s for s in ORDER if s in timings] + sorted(s for s in timings if s not in ORDER)
    stages = {}
    for s in names:
        r = resources.get(s, {})
        stages[s] = {
            "seconds": timings[s],
            "cpu_seconds": r.get("cpu_seconds"),
            "peak_rss_mib": r.get("peak_rss_mib"),
            "rss_mib": r.get("rss_mib"),
            "logged_as": r.get("logged_as"),
            "us_per_record": per_unit(timings[s], records),
            "us_per_pair": per_unit(timings[s], pairs),
            "per": "pair" if s in PAIR_STAGES else "record",
        }
    return {
        "tool": "golden",
        "label": label,
        "binary": args.golden,
        "pipeline": manifest.get("pipeline_path"),
        "entities": int(args.entities),
        "threads": manifest.get("threads"),
        "records": records,
        "candidate_pairs": pairs,
        "match_pairs": counts.get("match_pairs"),
        "golden_records": counts.get("golden_records"),
        "wall_s": float(wall),
        "peak_rss_mib": int(rss_kib) / 1024,
        "timings_s": {s: timings[s] for s in names},
        "stages": stages,
        "blocking": [{"rule": b["rule"], "pairs_in_blocks": b["pairs_in_blocks"],
                      "largest_block": b["largest_block"],
                      "capped_records": b["capped_records"]}
                     for b in manifest.get("blocking", [])],
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def fmt(value, spec):
    """value formatted with spec, or "-" when missing."""
    return "-" if value is None else format(value, spec)


def print_table(s, threads_arg):
    """The human-readable report of summary s."""
    print(f"golden e2e [{s['label']}]: {s['entities']} entities, threads {s['threads']}"
          f"{' (--threads ' + threads_arg + ')' if threads_arg else ''}, binary {s['binary']}")
    print(f"  pipeline {s['pipeline']}")
    for name, key in [("records", "records"), ("candidate pairs", "candidate_pairs"),
                      ("match pairs", "match_pairs"), ("golden records", "golden_records")]:
        print(f"  {name:<22}{fmt(s[key], '>12,')}")
    print(f"  {'wall time (s)':<22}{s['wall_s']:>12.2f}")
    print(f"  {'peak RSS (MiB)':<22}{s['peak_rss_mib']:>12.1f}")
    print(f"  {'pairwise P / R / F1':<22}{fmt(s['precision'], '.4f')} / "
          f"{fmt(s['recall'], '.4f')} / {fmt(s['f1'], '.4f')}")
    print("  pairs per blocking rule (before the rules' pairs are merged):")
    for b in s["blocking"]:
        capped = f"  ({b['capped_records']:,} records in capped blocks)" if b["capped_records"] else ""
        print(f"    {b['rule']:<36}{b['pairs_in_blocks']:>14,}{capped}")
    print("  per stage (peak RSS: the process's peak so far when the stage ended; "
          "* marks the per-unit figure that matters):")
    print(f"    {'stage':<18}{'s':>9}{'share':>7}{'cpu s':>9}{'peak MiB':>10}"
          f"{'µs/record':>11}{'µs/pair':>10}")
    total = sum(st["seconds"] for st in s["stages"].values())
    for name, st in s["stages"].items():
        share = 100 * st["seconds"] / total if total else 0
        rec = fmt(st["us_per_record"], ".3f") + ("*" if st["per"] == "record" else " ")
        pair = fmt(st["us_per_pair"], ".3f") + ("*" if st["per"] == "pair" else " ")
        shared = "  (cpu, RSS: " + st["logged_as"] + ")" if st["logged_as"] and "+" in st["logged_as"] else ""
        print(f"    {name:<18}{st['seconds']:>9.3f}{share:>6.1f}%{fmt(st['cpu_seconds'], '>9.2f')}"
              f"{fmt(st['peak_rss_mib'], '>10.1f')}{rec:>11}{pair:>10}{shared}")
    print(f"    {'(sum of stages)':<18}{total:>9.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    for flag in ("--dir", "--label", "--out", "--golden", "--entities"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--threads-arg", default="")
    args = parser.parse_args()
    summary = summarise(args)
    with open(f"{args.dir}/e2e-summary-{args.label}.json", "w") as f:
        json.dump(summary, f, indent=2)
    print_table(summary, args.threads_arg)


if __name__ == "__main__":
    main()
