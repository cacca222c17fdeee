//! Criterion benchmark of what the job ledger costs per image: one job's whole story as the
//! daemon writes it (claim, the hold before work, claimed with its hash, the render marks,
//! output and report names, written, reported, done: eleven statements, the claim a
//! transaction of two; the hold writes nothing on a single machine) in the single machine's
//! SQLite file (WAL, synchronous = FULL) and in a fleet's PostgreSQL (a local cluster from
//! Debian's package with fsync on, over its Unix socket), plus a fleet heartbeat. The
//! difference is the fleet's overhead per job. Skipped without PostgreSQL.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use realskin::ledger::{JobState, Ledger, Outcome, Store};

#[path = "../tests/common/postgres.rs"]
mod pg;

/// One image's ledger writes, in the daemon's order.
fn one_job(l: &Ledger, n: u64) {
    let name = format!("img{n}.png");
    let (id, _) = l
        .begin_claim(
            "bench",
            Path::new(&name),
            &Path::new("/in").join(&name),
            Path::new("/in/.realskin/processing/node"),
            "",
        )
        .unwrap();
    l.hold(id).unwrap();
    l.claimed(id, 1000, &format!("{n:064x}")).unwrap();
    l.begin_render(id).unwrap();
    l.end_render(id).unwrap();
    l.set_output(id, &Path::new("/out").join(&name)).unwrap();
    l.advance(id, JobState::Written).unwrap();
    l.set_report(id, &Path::new("/reports").join(&name))
        .unwrap();
    l.reported(
        id,
        Outcome::Processed,
        Some(&Path::new("/done").join(&name)),
        None,
    )
    .unwrap();
    l.finish(
        id,
        JobState::Done,
        Outcome::Processed,
        Some(&Path::new("/done").join(&name)),
        None,
    )
    .unwrap();
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ledger");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    // The state folder's disk, not a tmpfs: that is where the SQLite file lives.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let sqlite = Ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
    let mut n = 0u64;
    g.bench_function("job/sqlite", |b| {
        b.iter(|| {
            n += 1;
            one_job(black_box(&sqlite), n)
        })
    });
    let Some(cluster) = pg::durable_cluster() else {
        eprintln!("PostgreSQL is not installed: the fleet's side skipped");
        return;
    };
    let url = cluster.fresh_database();
    let shared = Ledger::open_store(Store::Shared {
        url: &url,
        node: "node",
        lease: Duration::from_secs(30),
    })
    .unwrap();
    shared
        .register_node("bench", 2, &[], &["bench".into()])
        .unwrap();
    g.bench_function("job/postgres", |b| {
        b.iter(|| {
            n += 1;
            one_job(black_box(&shared), n)
        })
    });
    g.bench_function("heartbeat/postgres", |b| {
        b.iter(|| black_box(shared.heartbeat().unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
