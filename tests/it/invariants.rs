//! Invariants on generated data with deliberately broken rows: no row lost, clusters are a
//! partition, a rerun gives the same golden ids, accuracy against truth.

use std::collections::{HashMap, HashSet};

use golden::generate::{GenerateOptions, generate};

use crate::util::{golden_ok, strings, table, tempdir};

#[test]
fn every_row_once_clusters_partition_stable_ids_and_accuracy() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let summary = generate(&GenerateOptions {
        entities: 1000,
        seed: 3,
        out: data.clone(),
        broken_rows: true,
        household_share: None,
    })
    .unwrap();
    assert!(summary.broken > 0);
    let pipeline = data.join("pipeline.toml");
    let out = dir.path().join("out");
    let p = pipeline.to_str().unwrap();
    let o = out.to_str().unwrap();
    golden_ok(&["run", p, "--output", o]);
    let run = out.join("latest");

    // Rows in the files: CSV data rows (all single-line here), Parquet rows, NDJSON lines.
    let csv_rows = std::fs::read(data.join("crm.csv"))
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
        - 1;
    let ndjson_rows = std::fs::read(data.join("support.ndjson"))
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let parquet_rows = golden::run::read_parquet(&data.join("billing.parquet"))
        .unwrap()
        .num_rows();
    let crosswalk = table(&run, "crosswalk");
    let rejects = table(&run, "rejects");
    assert_eq!(
        crosswalk.num_rows() + rejects.num_rows(),
        csv_rows + ndjson_rows + parquet_rows,
        "every input row in crosswalk or rejects"
    );
    assert_eq!(
        rejects.num_rows(),
        summary.broken,
        "exactly the broken rows are rejected"
    );

    // Every truth record is in the crosswalk exactly once.
    let keys: Vec<(String, String)> = strings(&crosswalk, "source")
        .into_iter()
        .zip(strings(&crosswalk, "source_id"))
        .map(|(s, i)| (s.unwrap(), i.unwrap()))
        .collect();
    let unique: HashSet<_> = keys.iter().cloned().collect();
    assert_eq!(unique.len(), keys.len(), "no record twice in the crosswalk");
    let truth = std::fs::read_to_string(data.join("truth.csv")).unwrap();
    for line in truth.lines().skip(1) {
        let mut parts = line.split(',');
        let key = (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        );
        assert!(unique.contains(&key), "{key:?} missing from the crosswalk");
    }
    assert_eq!(truth.lines().count() - 1, keys.len());

    // Clusters are a partition: golden ids of the crosswalk are exactly the golden table's,
    // and record counts add up.
    let golden = table(&run, "golden");
    let ids: Vec<String> = strings(&golden, "golden_id")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let id_set: HashSet<&String> = ids.iter().collect();
    assert_eq!(id_set.len(), ids.len(), "golden ids are unique");
    let xw_ids: Vec<String> = strings(&crosswalk, "golden_id")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(xw_ids.iter().collect::<HashSet<_>>(), id_set);
    let counts = golden.column_by_name("record_count").unwrap();
    let counts = counts
        .as_any()
        .downcast_ref::<arrow::array::UInt32Array>()
        .unwrap();
    assert_eq!(
        counts.iter().map(|c| c.unwrap() as usize).sum::<usize>(),
        crosswalk.num_rows()
    );

    // Accuracy against the generator's truth.
    let e = golden::evaluate::evaluate(&run, &data.join("truth.csv")).unwrap();
    assert_eq!(e.missing_from_run, 0);
    assert!(e.f1 >= 0.95, "pairwise F1 {:.4} below 0.95:\n{e}", e.f1);

    // A rerun on unchanged inputs gives the same golden id to every record.
    let first: HashMap<_, _> = keys.iter().cloned().zip(xw_ids.iter().cloned()).collect();
    golden_ok(&["run", p, "--output", o]);
    let again = table(&out.join("latest"), "crosswalk");
    let second: HashMap<_, _> = strings(&again, "source")
        .into_iter()
        .zip(strings(&again, "source_id"))
        .map(|(s, i)| (s.unwrap(), i.unwrap()))
        .zip(strings(&again, "golden_id").into_iter().map(Option::unwrap))
        .collect();
    assert_eq!(first, second);
    let runs = std::fs::read_dir(out.join("runs")).unwrap().count();
    assert_eq!(
        runs, 2,
        "two committed runs, no temporary directory left behind"
    );
}

/// DataFusion splits a source into 8,192-row batches; ingest must still keep every source's
/// rows in file order, or record order — and with it u sampling, the model and the order of
/// every output table — would change from run to run.
#[test]
fn ingest_keeps_file_order_beyond_one_datafusion_batch() {
    let dir = tempdir();
    let data = dir.path().join("data");
    generate(&GenerateOptions {
        entities: 12_000,
        seed: 9,
        out: data.clone(),
        broken_rows: false,
        household_share: None,
    })
    .unwrap();
    let pipeline = golden::config::load(&data.join("pipeline.toml")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for _ in 0..3 {
        let ing = runtime
            .block_on(golden::ingest::ingest(&pipeline, &Default::default()))
            .unwrap();
        for s in &ing.sources {
            assert!(
                s.batch.num_rows() > 8192 || s.name != "crm",
                "crm spans several batches"
            );
            let rows = s
                .batch
                .column_by_name(golden::schema::ROW_NUMBER)
                .unwrap()
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
                .unwrap();
            assert!(
                rows.values().windows(2).all(|w| w[0] < w[1]),
                "{}: rows out of file order",
                s.name
            );
        }
    }
}
