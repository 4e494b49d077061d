//! An extractor child that misbehaves on request, for the pool's tests only: a document named
//! `hang` never finishes, `crash` segfaults, `oom` allocates until its memory limit stops it.
//! Anything else is extracted normally, so the tests can check the pool recovers.

fn main() -> std::io::Result<()> {
    docket_extract::child::serve_with(|name| match name {
        "hang" => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        // As a parser's wild pointer would. The default action is restored first: Rust's own
        // SIGSEGV handler (for stack overflows) ignores a signal that no fault raised.
        // SAFETY: dying of a signal is what this test binary is for.
        "crash" => unsafe {
            libc::signal(libc::SIGSEGV, libc::SIG_DFL);
            libc::raise(libc::SIGSEGV);
        },
        "oom" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 64 << 20]);
            }
        }
        _ => {}
    })
}
