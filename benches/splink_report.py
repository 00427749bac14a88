"""The side-by-side table of benches/splink.sh; also writes DIR/splink-vs-golden-LABEL.json.

Usage: python3 splink_report.py DIR LABEL VERSIONS
  DIR holds e2e-summary-LABEL.json (golden on the same rules; where splink.sh kept them,
  e2e-summary-LABEL-before.json and -after.json, golden's runs before and after Splink, whose
  mean wall time the table gives), e2e-summary-generated.json
  (golden on its own rules), splink-summary-LABEL.json, splink-pairs-LABEL.json and
  splink-time-LABEL.txt (GNU time's "wall KiB"); VERSIONS is "SPLINK DUCKDB".
"""

import json
import os
import sys

WORK_PHASES = ("load", "setup", "train", "predict", "cluster")  # not Python's start, not scoring


def load_splink(d, label):
    """Splink's summary with its process wall, peak RSS and work seconds added."""
    s = json.load(open(f"{d}/splink-summary-{label}.json"))
    wall, rss_kib = open(f"{d}/splink-time-{label}.txt").read().split()[-2:]
    s["process_wall_s"], s["peak_rss_mib"] = float(wall), int(rss_kib) / 1024
    phases = s["phases_s"]
    s["train_s"] = sum(v for k, v in phases.items() if k.startswith("train:"))
    s["work_s"] = sum(v for k, v in phases.items() if k.split(":")[0] in WORK_PHASES)
    return s


def rows(golden_runs, s, pairs):
    """(name, [golden figures..., splink figure], format, ratios wanted) of the main table."""
    def g(key):
        return [run[key] for run in golden_runs]
    scored = pairs["prediction_rules"][-1]["cumulative_pairs"]
    return [
        ("wall s (splink: load..cluster)", g("wall_s") + [s["work_s"]], "{:.2f}", True),
        ("process wall s", g("wall_s") + [s["process_wall_s"]], "{:.2f}", True),
        ("peak RSS MiB", g("peak_rss_mib") + [s["peak_rss_mib"]], "{:.0f}", True),
        ("pairwise precision", g("precision") + [s["precision"]], "{:.4f}", False),
        ("pairwise recall", g("recall") + [s["recall"]], "{:.4f}", False),
        ("pairwise F1", g("f1") + [s["f1"]], "{:.4f}", False),
        ("candidate pairs scored", g("candidate_pairs") + [scored], "{:,}", False),
        ("pairs >= 0.9", g("match_pairs") + [s["predicted_pairs_over_0.9"]], "{:,}", False),
        ("clusters", g("golden_records") + [s["clusters"]], "{:,}", False),
    ]


def print_main(golden_runs, s, pairs, versions):
    """The golden / Splink table with the ratios Splink / golden."""
    splink_v, duckdb_v = versions.split()
    heads = [f"golden {r['label']}" for r in golden_runs] + ["splink"]
    heads += [f"splink/{h}" for h in heads[:-1]]
    g0 = golden_runs[0]
    print(f"\ngolden vs splink {splink_v} (duckdb {duckdb_v}): {g0['entities']} entities, "
          f"{g0['records']:,} records ({s['records']:,} in Splink); Splink's prediction rules "
          f"are golden {s['label']}'s")
    print(f"  {'':<32}" + "".join(f"{h:>25}" for h in heads))
    for name, values, fmt, ratios in rows(golden_runs, s, pairs):
        cells = [fmt.format(v) if v is not None else "-" for v in values]
        if ratios:
            cells += [f"{values[-1] / v:.2f}x" if v else "-" for v in values[:-1]]
        print(f"  {name:<32}" + "".join(f"{c:>25}" for c in cells))


def print_pairs(golden_same, pairs):
    """Pairs per prediction rule, golden's and Splink's, and Splink's EM training rules."""
    print(f"\n  pairs per prediction rule{'':<23}{'golden alone':>14}{'splink alone':>14}"
          f"{'splink new':>14}")
    golden_by_rule = [b["pairs_in_blocks"] for b in golden_same["blocking"]]
    for i, p in enumerate(pairs["prediction_rules"]):
        g = f"{golden_by_rule[i]:,}" if i < len(golden_by_rule) else "-"
        print(f"    {p['rule']:<46}{g:>14}{p['pairs']:>14,}{p['marginal_pairs']:>14,}")
    print("    (alone: the rule by itself; new: pairs no earlier rule gave. golden's "
          "metaphone(first_name) is substr(first_name, 1, 2) in Splink: DuckDB has no metaphone)")
    low, high = pairs["em_pairs_range"]
    print(f"  splink EM training rules (aim: {low:,.0f} to {high:,.0f} pairs each)")
    for p in pairs["em_rules"]:
        flag = "" if p["in_range"] else "   <- outside the aim"
        print(f"    {p['rule']:<46}{p['pairs']:>14,}{flag}")


def print_phases(s):
    """Splink's phase seconds, training in parts."""
    parts = ", ".join(f"{k.split(':')[1]} {v:.2f}" for k, v in s["phases_s"].items()
                      if k.startswith("train:"))
    others = {k: v for k, v in s["phases_s"].items() if not k.startswith("train:")}
    line = ", ".join(f"{k} {v:.2f}" for k, v in others.items() if k in ("load", "setup"))
    line += f", train {s['train_s']:.2f} ({parts}), "
    line += ", ".join(f"{k} {v:.2f}" for k, v in others.items() if k not in ("load", "setup"))
    print(f"  splink phases (s): {line}; process {s['process_wall_s']:.2f}")


def load_golden_same(d, label):
    """golden's figures on the chosen rules: the mean wall time (the largest peak RSS) of the
    runs before and after Splink (e2e-summary-LABEL-before/after.json) where splink.sh kept them,
    with each run's wall seconds in "wall_runs_s"; else e2e-summary-LABEL.json as it is."""
    runs = [json.load(open(f"{d}/e2e-summary-{label}-{when}.json"))
            for when in ("before", "after") if os.path.exists(f"{d}/e2e-summary-{label}-{when}.json")]
    if not runs:
        runs = [json.load(open(f"{d}/e2e-summary-{label}.json"))]
    for run in runs[1:]:
        if run["f1"] != runs[0]["f1"] or run["candidate_pairs"] != runs[0]["candidate_pairs"]:
            sys.exit(f"golden's runs before and after Splink differ in F1 or pairs: {d}")
    golden = dict(runs[-1])
    golden["wall_runs_s"] = [run["wall_s"] for run in runs]
    golden["wall_s"] = sum(golden["wall_runs_s"]) / len(runs)
    golden["peak_rss_mib"] = max(run["peak_rss_mib"] for run in runs)
    return golden


def main():
    d, label, versions = sys.argv[1:4]
    golden_runs = [load_golden_same(d, label)]
    if label != "generated":
        golden_runs.append(json.load(open(f"{d}/e2e-summary-generated.json")))
    s = load_splink(d, label)
    pairs = json.load(open(f"{d}/splink-pairs-{label}.json"))
    print_main(golden_runs, s, pairs, versions)
    print_pairs(golden_runs[0], pairs)
    print_phases(s)
    walls = golden_runs[0]["wall_runs_s"]
    if len(walls) > 1:
        print(f"  golden {label} wall s, before and after Splink: "
              + " and ".join(f"{w:.2f}" for w in walls)
              + f" (mean {golden_runs[0]['wall_s']:.2f}, in the table)")
    table = {name: values for name, values, _, _ in rows(golden_runs, s, pairs)}
    with open(f"{d}/splink-vs-golden-{label}.json", "w") as f:
        json.dump({"columns": [f"golden {r['label']}" for r in golden_runs] + ["splink"],
                   "rows": table, "splink": s, "splink_pairs": pairs, "versions": versions},
                  f, indent=2)


if __name__ == "__main__":
    main()
