//! Prints the faces realskin finds in each picture: `cargo run --release --example faces -- FILE...`
fn main() {
    for p in std::env::args().skip(1) {
        let img = match image::open(&p) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{p}: {e}");
                continue;
            }
        };
        let t = std::time::Instant::now();
        let faces = realskin::face::analyse(&img, 2);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        print!("{p}: {}x{} {:.0} ms", img.width(), img.height(), ms);
        for f in &faces {
            print!(
                " [{:.0}x{:.0} at {:.0},{:.0} score {:.2} presence {:.2} roll {:.0} yaw {:.2}]",
                f.bbox.w,
                f.bbox.h,
                f.bbox.x,
                f.bbox.y,
                f.bbox.score,
                f.mesh.presence,
                f.mesh.roll_deg(),
                f.mesh.yaw()
            );
        }
        println!();
    }
}
