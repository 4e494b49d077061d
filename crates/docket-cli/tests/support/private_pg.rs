//! A PostgreSQL server of the test's own (initdb in a temporary directory, its own port), so
//! a test can restart it mid-job without disturbing anything else.

use std::path::PathBuf;
use std::process::Command;

pub struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    root: PathBuf,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (the server refuses root).
fn pg_tool(bin: &std::path::Path, tool: &str, args: &[&str]) {
    let program = bin.join(tool);
    let status = if is_root() {
        Command::new("runuser")
            .arg("-u")
            .arg("postgres")
            .arg("--")
            .arg(&program)
            .args(args)
            .status()
    } else {
        Command::new(&program).args(args).status()
    };
    let status = status.unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        status.success(),
        "{} {:?} failed: {status}",
        program.display(),
        args
    );
}

impl PrivatePg {
    pub fn start() -> PrivatePg {
        let versions = std::fs::read_dir("/usr/lib/postgresql").expect(
            "PostgreSQL server binaries in /usr/lib/postgresql (apt-get install postgresql)",
        );
        let mut versions: Vec<PathBuf> = versions
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .collect();
        versions.sort();
        let bin = versions.pop().expect("a PostgreSQL version");
        let root = std::env::temp_dir().join(format!("docket-pg-{}", uuid_like()));
        std::fs::create_dir_all(&root).expect("pg root");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .expect("chown");
            assert!(ok.success());
        }
        let data = root.join("data");
        let port = free_port();
        let data_s = data.display().to_string();
        pg_tool(
            &bin,
            "initdb",
            &[
                "-D",
                &data_s,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let pg = PrivatePg {
            bin,
            data,
            root,
            port,
        };
        pg.ctl(&["start"]);
        pg
    }

    fn ctl(&self, action: &[&str]) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.root.display()
        );
        let data = self.data.display().to_string();
        let log = self.root.join("server.log").display().to_string();
        let mut args = vec!["-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60"];
        args.extend_from_slice(action);
        pg_tool(&self.bin, "pg_ctl", &args);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts the server: every connection is dropped.
    pub fn restart(&self) {
        self.ctl(&["-m", "fast", "restart"]);
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let program = self.bin.join("pg_ctl");
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .arg(&program)
                .args(args)
                .status()
        } else {
            Command::new(&program).args(args).status()
        };
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr").port()
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}
