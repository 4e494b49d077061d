//! The extractor child the crate's tests run through the pool. Production runs the same
//! `serve` as `docket extractor`.

fn main() -> std::io::Result<()> {
    docket_extract::child::serve()
}
