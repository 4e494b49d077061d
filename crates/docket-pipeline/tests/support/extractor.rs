//! The extractor child the pipeline's tests run (production runs the same loop as the hidden
//! `docket extractor` command). A document named `hang` never finishes, to test timeouts.

fn main() -> std::io::Result<()> {
    docket_extract::child::serve_with(|name| {
        if name == "hang" {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    })
}
