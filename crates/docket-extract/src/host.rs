//! What the host gives the extractor children: the memory they may share.

/// Share of the host's memory all extractor children together may use by default: the rest
/// is the worker itself, the database's cache, the page cache and whatever else runs there.
const SHARE_PERCENT: u64 = 50;
/// No child is capped below this by default: tesseract with one model and poppler with an
/// ordinary page fit well inside it.
const FLOOR_MIB: u64 = 512;
/// Assumed when the host's memory cannot be read (not Linux, `/proc` hidden).
const UNKNOWN_HOST_MIB: u64 = 4096;

/// Memory of this host (or of the cgroup this process is confined to, if that is less), in
/// MiB; `None` when it cannot be read.
pub fn memory_mib() -> Option<u64> {
    let physical = physical_bytes();
    let confined = cgroup_limit_bytes();
    let bytes = match (physical, confined) {
        (Some(p), Some(c)) => p.min(c),
        (p, c) => p.or(c)?,
    };
    Some(bytes / (1024 * 1024))
}

/// The default cap of each of `children` extractor children, in MiB: half of the host's
/// memory shared between them, at least [`FLOOR_MIB`].
pub fn default_child_limit_mib(children: usize) -> u64 {
    let host = memory_mib().unwrap_or(UNKNOWN_HOST_MIB);
    let children = u64::try_from(children.max(1)).unwrap_or(u64::MAX);
    (host * SHARE_PERCENT / 100 / children).max(FLOOR_MIB)
}

fn physical_bytes() -> Option<u64> {
    // SAFETY: sysconf has no preconditions; it answers -1 for what it does not know.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let pages = u64::try_from(pages).ok().filter(|&p| p > 0)?;
    let page_size = u64::try_from(page_size).ok().filter(|&s| s > 0)?;
    pages.checked_mul(page_size)
}

/// cgroup v2's `memory.max` of this process's group (`max` means none).
fn cgroup_limit_bytes() -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    // v2 has one line, `0::/path`.
    let path = membership.lines().find_map(|l| l.strip_prefix("0::"))?;
    let file = format!("/sys/fs/cgroup{}/memory.max", path.trim_end_matches('/'));
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_memory_is_read_and_shared_between_children() {
        let host = memory_mib().expect("this Linux host's memory");
        assert!(host > 256, "{host} MiB");
        let one = default_child_limit_mib(1);
        let four = default_child_limit_mib(4);
        assert_eq!(one, (host / 2).max(FLOOR_MIB));
        assert!(four <= one);
        assert!(four >= FLOOR_MIB);
        assert_eq!(default_child_limit_mib(0), one);
    }
}
