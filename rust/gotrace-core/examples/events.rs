//! `cargo run --release --example events -- FILE`: the `tracecheck events` dump, without Python.
use std::io::Write;

fn main() {
    let path = std::env::args().nth(1).expect("usage: events FILE");
    let data = std::fs::read(&path).expect("read");
    let trace = gotrace_core::parse(&data);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    gotrace_core::export::tsv::write_events(&trace, &mut out, 0, usize::MAX).expect("write");
    out.flush().unwrap();
    if let Some(e) = trace.error {
        eprintln!("{}", e.message);
        std::process::exit(1);
    }
}
