//! Writes the deterministic photo-like PNG that benchmarks use:
//! `cargo run --release --example photo_fixture -- WIDTH HEIGHT OUT.png`.

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [w, h, out] = args.as_slice() else {
        eprintln!("usage: photo_fixture WIDTH HEIGHT OUT.png");
        std::process::exit(2);
    };
    let (w, h): (u32, u32) = match (w.parse(), h.parse()) {
        (Ok(w), Ok(h)) => (w, h),
        _ => {
            eprintln!("WIDTH and HEIGHT must be numbers");
            std::process::exit(2);
        }
    };
    if let Err(e) = fixtures::photo(w, h, 1).save(out) {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(1);
    }
}
