//! Figures the benchmarks print, and append as JSON lines to `$OUTPOST_BENCH_OUT` when set
//! (`cargo xtask bench` collects them into one table and `target/bench/report.json`).

#![allow(dead_code)]

use std::io::Write;

/// One figure: a distribution (p50/p95/p99 of samples) or a single value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figure {
    /// Which target or part (`native`, `wrangler dev`, `sizes`, `knowledge`).
    pub group: String,
    /// What it is.
    pub name: String,
    /// Its unit (`ms`, `B`, `MB/s`, `KiB`).
    pub unit: String,
    /// Samples behind a distribution.
    pub samples: usize,
    /// Percentiles of a distribution.
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    /// A single value.
    pub value: Option<f64>,
}

fn append_line(line: &str) {
    if let Ok(path) = std::env::var("OUTPOST_BENCH_TABLE") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        writeln!(file, "{line}").unwrap();
    }
}

fn append(f: &Figure) {
    if let Ok(path) = std::env::var("OUTPOST_BENCH_OUT") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        writeln!(file, "{}", serde_json::to_string(f).unwrap()).unwrap();
    }
}

/// The `p` quantile of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Records (and prints) a distribution.
pub fn distribution(group: &str, name: &str, unit: &str, mut samples: Vec<f64>) -> Figure {
    samples.sort_by(f64::total_cmp);
    let f = Figure {
        group: group.into(),
        name: name.into(),
        unit: unit.into(),
        samples: samples.len(),
        p50: Some(percentile(&samples, 0.5)),
        p95: Some(percentile(&samples, 0.95)),
        p99: Some(percentile(&samples, 0.99)),
        value: None,
    };
    let line = format!(
        "{:<14} {:<58} {:>9.2} {:>9.2} {:>9.2} {:<4} n={}",
        group,
        name,
        f.p50.unwrap(),
        f.p95.unwrap(),
        f.p99.unwrap(),
        unit,
        f.samples
    );
    println!("{line}");
    append_line(&line);
    append(&f);
    f
}

/// Records (and prints) a single value.
pub fn value(group: &str, name: &str, unit: &str, v: f64) -> Figure {
    let f = Figure {
        group: group.into(),
        name: name.into(),
        unit: unit.into(),
        samples: 1,
        p50: None,
        p95: None,
        p99: None,
        value: Some(v),
    };
    let line = format!("{group:<14} {name:<58} {:>19} {v:>9.2} {unit}", "");
    println!("{line}");
    append_line(&line);
    append(&f);
    f
}

/// How a cost grows when the work doubles, from figures at `work` sizes: the factor per
/// doubling (fitted on the log-log line through the first and last points), with a word.
pub fn growth(group: &str, what: &str, points: &[(f64, f64)]) -> Figure {
    let (w0, c0) = points[0];
    let (w1, c1) = points[points.len() - 1];
    let doublings = (w1 / w0).log2();
    let factor = (c1 / c0).powf(1.0 / doublings);
    let word = if factor < 1.3 {
        "flat (well below linear)"
    } else if factor < 1.8 {
        "sublinear"
    } else if factor < 2.3 {
        "linear"
    } else {
        "worse than linear"
    };
    let detail = points
        .iter()
        .map(|(w, c)| format!("{w}→{c:.2}"))
        .collect::<Vec<_>>()
        .join(", ");
    value(
        group,
        &format!("{what}: ×{factor:.2} per doubling, {word} ({detail})"),
        "×",
        factor,
    )
}
