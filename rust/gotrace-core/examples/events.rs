//! `cargo run --release --example events -- FILE [--stream]`: the `tracecheck events`
//! dump, without Python (`--stream` reads the file with `parse_read` instead of whole).
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: events FILE [--stream]");
    let stream = args.next().as_deref() == Some("--stream");
    let trace = if stream {
        let f = std::fs::File::open(&path).expect("open");
        let size = f.metadata().map(|m| m.len() as usize).unwrap_or(0);
        gotrace_core::parse_read(f, size)
    } else {
        gotrace_core::parse(&std::fs::read(&path).expect("read"))
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    gotrace_core::export::tsv::write_events(&trace, &mut out, 0, usize::MAX).expect("write");
    out.flush().unwrap();
    if let Some(e) = trace.error {
        eprintln!("{}", e.message);
        std::process::exit(1);
    }
}
