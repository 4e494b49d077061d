//! `docket.toml` with every key overridable by a `DOCKET_*` environment variable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use docket_core::RetryPolicy;
use docket_engine::EngineConfig;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// A directory, or `s3://bucket/prefix`.
    pub blobs: String,
    pub bind: String,
    /// Items this process runs at once; 0 runs the API only. Default: twice the number of
    /// cores (see [`default_workers`]).
    pub workers: Option<usize>,
    /// Directories a folder source may lie under (`:`-separated in the environment).
    pub allowed_roots: Vec<PathBuf>,
    pub server: String,
    pub token: Option<String>,
    pub lease_seconds: u64,
    pub retry_base_ms: i64,
    pub retry_cap_ms: i64,
    pub retention_days: f64,
    /// Largest upload, all its files together.
    pub upload_limit_bytes: u64,
    /// Largest file: an upload with a larger one is refused (413) before it is stored, and the
    /// pipeline processes files up to this size (server files included). One setting, so the
    /// two cannot disagree.
    pub max_file_bytes: u64,
    /// Bytes of uploads each user may keep stored (their jobs' files, until the jobs are
    /// deleted); past it an upload is refused with 507. Default: no quota.
    pub storage_quota_bytes: Option<u64>,
    pub ocr_languages: Vec<String>,
    /// Items a worker process claims ahead of its free workers (default: 4 per worker). Raise
    /// it for many quick items; keep it low for slow ones, so that processes share fairly.
    pub prefetch: Option<usize>,
    /// Where `serve` keeps the first-start token (and, by default, the database and blobs).
    pub data_dir: PathBuf,
    /// The HMAC key webhooks are signed with. Default: made at first start and kept in
    /// `data_dir/webhook_secret`. Set it on every process when workers run elsewhere.
    pub webhook_secret: Option<String>,
    /// First webhook retry delay; doubles per attempt up to 10 minutes.
    pub webhook_retry_base_ms: i64,
    /// `[publish.targets.NAME]`: the repositories jobs can be published to.
    #[serde(default)]
    pub publish: PublishSection,
    /// `[ocr.google_vision]`: the remote OCR provider jobs may choose.
    #[serde(default)]
    pub ocr: OcrSection,
    /// `[remotes]`: when a remote is marked down, and how it is probed.
    #[serde(default)]
    pub remotes: RemotesSection,
    /// `[webhooks]`: where `notify_url`s may point.
    #[serde(default)]
    pub webhooks: WebhooksSection,
    /// `[uploads]`: resumable (tus) uploads.
    #[serde(default)]
    pub uploads: UploadsSection,
    /// `[rate_limit]`: request budgets per token and failed authentications per address.
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    /// `[extract]`: the extractor children.
    #[serde(default)]
    pub extract: ExtractSection,
}

/// The `[ocr]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcrSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_vision: Option<docket_pipeline::VisionSection>,
}

/// The `[remotes]` section (SPEC §4): a remote with `failures_to_trip` transport failures
/// within `window_seconds` is marked down, and probed after `probe_base_ms`, doubling up to
/// `probe_max_ms`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemotesSection {
    pub failures_to_trip: u32,
    pub window_seconds: u64,
    pub probe_base_ms: u64,
    pub probe_max_ms: u64,
}

impl Default for RemotesSection {
    fn default() -> Self {
        let policy = docket_core::BreakerPolicy::default();
        RemotesSection {
            failures_to_trip: policy.failures_to_trip,
            window_seconds: (policy.window_ms / 1000) as u64,
            probe_base_ms: policy.probe_base_ms as u64,
            probe_max_ms: policy.probe_cap_ms as u64,
        }
    }
}

/// The `[rate_limit]` section: a token bucket per token, per-user overrides under
/// `[rate_limit.users.NAME]`, and failed authentications per client address and minute.
/// 0 turns a limit off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: u32,
    #[serde(default = "default_burst")]
    pub burst: u32,
    #[serde(default = "default_failed_auth_per_minute")]
    pub failed_auth_per_minute: u32,
    #[serde(default)]
    pub users: std::collections::BTreeMap<String, UserBudget>,
}

/// `[rate_limit.users.NAME]`: this user's tokens get this budget instead.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBudget {
    pub requests_per_second: u32,
    pub burst: u32,
}

fn default_requests_per_second() -> u32 {
    100
}
fn default_burst() -> u32 {
    200
}
fn default_failed_auth_per_minute() -> u32 {
    30
}

impl Default for RateLimitSection {
    fn default() -> Self {
        RateLimitSection {
            requests_per_second: default_requests_per_second(),
            burst: default_burst(),
            failed_auth_per_minute: default_failed_auth_per_minute(),
            users: Default::default(),
        }
    }
}

/// The `[webhooks]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSection {
    /// Non-public ranges (CIDRs or single addresses) webhooks may still be sent to, for
    /// deployments with internal receivers: `allow_private = ["10.0.0.0/8"]`. Everything else
    /// must resolve to a public address. `DOCKET_WEBHOOKS_ALLOW_PRIVATE`: comma-separated.
    #[serde(default)]
    pub allow_private: Vec<String>,
}

/// The `[uploads]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadsSection {
    /// A resumable upload not appended to for this long expires and is removed
    /// (`DOCKET_UPLOADS_EXPIRY_SECONDS`). Default: a day.
    pub expiry_seconds: u64,
}

impl Default for UploadsSection {
    fn default() -> Self {
        UploadsSection {
            expiry_seconds: 24 * 3600,
        }
    }
}

impl RateLimitSection {
    /// The API's limits; a user whose override has `requests_per_second = 0` is not limited.
    pub fn limits(&self) -> docket_api::RateLimitConfig {
        let budget = |requests_per_second, burst| docket_api::Budget {
            requests_per_second,
            burst,
        };
        docket_api::RateLimitConfig {
            per_token: (self.requests_per_second > 0)
                .then(|| budget(self.requests_per_second, self.burst)),
            users: self
                .users
                .iter()
                .map(|(user, b)| (user.clone(), budget(b.requests_per_second, b.burst)))
                .collect(),
            failed_auth_per_minute: (self.failed_auth_per_minute > 0)
                .then_some(self.failed_auth_per_minute),
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Twice the cores: an item spends part of its time outside the extractor children (reading
/// its upload, storing the original and thumbnail, writing the database), and with one item
/// per child a core sat idle meanwhile. With a second item per child waiting for it, a batch
/// of text-layer PDFs ran about 1.2× as fast (BENCHMARKS.md).
pub fn default_workers() -> usize {
    cores() * 2
}

/// The `[extract]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSection {
    /// Memory of each extractor child, in MB (MiB); a document that needs more fails with
    /// "ran out of memory". Default: half of the host's memory (or its cgroup's) shared
    /// between the children (`DOCKET_EXTRACT_MEMORY_LIMIT_MB`).
    pub memory_limit_mb: Option<u64>,
    /// Extractor children, i.e. documents extracted at once. Default: one per core, and never
    /// more than `workers` (`DOCKET_EXTRACT_PROCESSES`).
    pub processes: Option<usize>,
}

/// The `[publish]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSection {
    #[serde(default)]
    pub targets: std::collections::BTreeMap<String, docket_publish::TargetConfig>,
}

/// Keys read from `DOCKET_*` variables by name (lists are split by hand below). Other
/// `DOCKET_*` variables (`DOCKET_LOG`, `DOCKET_CONFIG`) belong to the command line.
const ENV_KEYS: &[&str] = &[
    "database_url",
    "blobs",
    "bind",
    "workers",
    "server",
    "token",
    "lease_seconds",
    "retry_base_ms",
    "retry_cap_ms",
    "retention_days",
    "upload_limit_bytes",
    "max_file_bytes",
    "storage_quota_bytes",
    "data_dir",
    "prefetch",
    "webhook_secret",
    "webhook_retry_base_ms",
];

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://./data/docket.db".into(),
            blobs: "./data/blobs".into(),
            bind: "127.0.0.1:8080".into(),
            workers: None,
            allowed_roots: Vec::new(),
            server: "http://127.0.0.1:8080".into(),
            token: None,
            lease_seconds: 30,
            retry_base_ms: 2_000,
            retry_cap_ms: 30_000,
            retention_days: 7.0,
            upload_limit_bytes: 10 * 1024 * 1024 * 1024,
            max_file_bytes: 512 * 1024 * 1024,
            storage_quota_bytes: None,
            ocr_languages: vec!["eng".into()],
            data_dir: PathBuf::from("./data"),
            prefetch: None,
            webhook_secret: None,
            webhook_retry_base_ms: 2_000,
            publish: PublishSection::default(),
            ocr: OcrSection::default(),
            remotes: RemotesSection::default(),
            webhooks: WebhooksSection::default(),
            uploads: UploadsSection::default(),
            rate_limit: RateLimitSection::default(),
            extract: ExtractSection::default(),
        }
    }
}

impl Config {
    /// Defaults, then `docket.toml` (or `path`), then `DOCKET_*` variables.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let file = path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("docket.toml"));
        if path.is_some() && !file.exists() {
            anyhow::bail!("config file {} does not exist", file.display());
        }
        let mut figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&file))
            .merge(Env::prefixed("DOCKET_").only(ENV_KEYS));
        if let Ok(roots) = std::env::var("DOCKET_ALLOWED_ROOTS") {
            let roots: Vec<PathBuf> = roots
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect();
            figment = figment.merge(Serialized::default("allowed_roots", roots));
        }
        if let Ok(ranges) = std::env::var("DOCKET_WEBHOOKS_ALLOW_PRIVATE") {
            let ranges: Vec<String> = ranges
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            figment = figment.merge(Serialized::default("webhooks.allow_private", ranges));
        }
        if let Ok(langs) = std::env::var("DOCKET_OCR_LANGUAGES") {
            let langs: Vec<String> = langs.split(['+', ',']).map(str::to_string).collect();
            figment = figment.merge(Serialized::default("ocr_languages", langs));
        }
        for (var, key, unit) in [
            (
                "DOCKET_UPLOADS_EXPIRY_SECONDS",
                "uploads.expiry_seconds",
                "seconds",
            ),
            (
                "DOCKET_EXTRACT_MEMORY_LIMIT_MB",
                "extract.memory_limit_mb",
                "MB",
            ),
            ("DOCKET_EXTRACT_PROCESSES", "extract.processes", "processes"),
        ] {
            if let Ok(value) = std::env::var(var) {
                let n: u64 = value
                    .trim()
                    .parse()
                    .with_context(|| format!("{var}={value:?} is not a number of {unit}"))?;
                figment = figment.merge(Serialized::default(key, n));
            }
        }
        figment
            .extract()
            .with_context(|| format!("reading configuration ({})", file.display()))
    }

    /// The limits of resumable uploads.
    pub fn resumable(&self) -> docket_app::ResumableConfig {
        docket_app::ResumableConfig {
            max_size: self.upload_limit_bytes,
            max_file_bytes: self.max_file_bytes,
            storage_quota_bytes: self.storage_quota_bytes,
            expiry: Duration::from_secs(self.uploads.expiry_seconds.max(1)),
        }
    }

    /// The token the CLI sends: configured, or the one `serve` saved at first start.
    pub fn client_token(&self) -> Option<String> {
        self.token.clone().filter(|t| !t.is_empty()).or_else(|| {
            std::fs::read_to_string(self.data_dir.join("token"))
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        })
    }

    /// The publish targets, their passwords read (from `password_file` or
    /// `DOCKET_PUBLISH_<NAME>_PASSWORD`): a bad target stops the process at start.
    pub fn publish_targets(&self) -> anyhow::Result<docket_publish::Targets> {
        Ok(docket_publish::Targets::resolve(
            &self.publish.targets,
            |k| std::env::var(k).ok(),
        )?)
    }

    /// `[ocr.google_vision]` with its key read (from `api_key_file` or
    /// `DOCKET_OCR_GOOGLE_VISION_API_KEY`); `None` when the section is absent. A bad section
    /// stops the process at start.
    pub fn google_vision(&self) -> anyhow::Result<Option<docket_pipeline::VisionConfig>> {
        self.ocr
            .google_vision
            .as_ref()
            .map(|section| section.resolve(|k| std::env::var(k).ok()))
            .transpose()
            .map_err(anyhow::Error::msg)
    }

    /// Every remote the configuration names, for `GET /v1/remotes` and `/metrics`.
    pub fn remotes(&self) -> Vec<docket_app::ConfiguredRemote> {
        let ocr = self
            .ocr
            .google_vision
            .iter()
            .map(|_| docket_app::ConfiguredRemote {
                name: docket_pipeline::GOOGLE_VISION.to_owned(),
                kind: docket_app::RemoteKind::Ocr,
            });
        let targets = self
            .publish
            .targets
            .keys()
            .map(|name| docket_app::ConfiguredRemote {
                name: name.clone(),
                kind: docket_app::RemoteKind::Publish,
            });
        ocr.chain(targets).collect()
    }

    /// The circuit breakers' policy from `[remotes]`.
    pub fn breaker(&self) -> docket_core::BreakerPolicy {
        let r = &self.remotes;
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX).max(1);
        docket_core::BreakerPolicy {
            failures_to_trip: r.failures_to_trip.max(1),
            window_ms: ms(r.window_seconds.saturating_mul(1000)),
            probe_base_ms: ms(r.probe_base_ms),
            probe_cap_ms: ms(r.probe_max_ms.max(r.probe_base_ms)),
        }
    }

    /// Where `notify_url`s may point: a bad `allow_private` entry stops the process at start.
    pub fn webhook_policy(&self) -> anyhow::Result<docket_notify::WebhookPolicy> {
        let addresses = docket_notify::AddressPolicy::parse(&self.webhooks.allow_private)
            .map_err(|e| anyhow::anyhow!("[webhooks] allow_private: {e}"))?;
        Ok(docket_notify::WebhookPolicy::new(addresses))
    }

    /// Extractor children of this process (see [`ExtractSection::processes`]).
    pub fn extractor_processes(&self) -> usize {
        self.extract
            .processes
            .unwrap_or_else(cores)
            .min(self.engine_workers())
            .max(1)
    }

    /// Items the engine runs at once (at least one; `workers = 0` means no engine at all).
    fn engine_workers(&self) -> usize {
        self.workers.unwrap_or_else(default_workers).max(1)
    }

    pub fn engine(&self) -> EngineConfig {
        let defaults = EngineConfig::default();
        let lease = Duration::from_secs(self.lease_seconds.max(1));
        let workers = self.engine_workers();
        EngineConfig {
            workers,
            prefetch: self.prefetch.unwrap_or((workers * 4).max(16)).max(1),
            lease,
            heartbeat_every: lease / 3,
            retry: RetryPolicy {
                base_ms: self.retry_base_ms,
                factor: 2.0,
                cap_ms: self.retry_cap_ms,
            },
            // At most a century: a larger or non-finite value means "keep".
            retention: (self.retention_days > 0.0 && self.retention_days <= 36_500.0)
                .then(|| Duration::from_secs_f64(self.retention_days * 86_400.0)),
            rescue_every: (lease / 4).max(Duration::from_millis(250)),
            ..defaults
        }
    }
}

#[cfg(test)]
// figment's Jail returns its own (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("docket.toml", "workers = 3\nbind = \"0.0.0.0:9000\"")?;
            jail.set_env("DOCKET_WORKERS", "5");
            jail.set_env("DOCKET_LOG", "debug");
            jail.set_env("DOCKET_ALLOWED_ROOTS", "/srv/a:/srv/b");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.workers, Some(5));
            assert_eq!(c.bind, "0.0.0.0:9000");
            assert_eq!(
                c.allowed_roots,
                vec![PathBuf::from("/srv/a"), PathBuf::from("/srv/b")]
            );
            assert_eq!(c.database_url, "sqlite://./data/docket.db");
            Ok(())
        });
    }

    #[test]
    fn extractor_processes_default_to_the_cores_and_never_outnumber_workers() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.engine().workers, default_workers());
            assert_eq!(c.extractor_processes(), default_workers() / 2);
            jail.set_env("DOCKET_WORKERS", "1");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.extractor_processes(), 1);
            jail.set_env("DOCKET_WORKERS", "8");
            jail.set_env("DOCKET_EXTRACT_PROCESSES", "3");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!((c.engine().workers, c.extractor_processes()), (8, 3));
            jail.set_env("DOCKET_EXTRACT_PROCESSES", "many");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn google_vision_is_configured_with_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "docket.toml",
                "[ocr.google_vision]\nendpoint = \"http://127.0.0.1:9\"\nmax_images_per_request = 4\n",
            )?;
            jail.set_env("DOCKET_OCR_GOOGLE_VISION_API_KEY", "sekrit");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            let vision = c
                .google_vision()
                .map_err(|e| e.to_string())?
                .expect("configured");
            assert_eq!(vision.endpoint, "http://127.0.0.1:9");
            assert_eq!(vision.max_images_per_request, 4);
            assert_eq!(vision.api_key.expose(), "sekrit");
            assert!(!format!("{vision:?}").contains("sekrit"));
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file("docket.toml", "[ocr.google_vision]\nendpiont = \"x\"\n")?;
            let e = Config::load(None).expect_err("a misspelt key");
            assert!(format!("{e:#}").contains("endpiont"), "{e:#}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file("docket.toml", "workers = 1\n")?;
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert!(c.google_vision().map_err(|e| e.to_string())?.is_none());
            assert_eq!(c.breaker(), docket_core::BreakerPolicy::default());
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("docket.toml", "wrokers = 3")?;
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn webhook_allow_list_is_read_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "docket.toml",
                "[webhooks]\nallow_private = [\"10.0.0.0/8\", \"fd00::/8\"]\n",
            )?;
            let c = Config::load(None).map_err(|e| e.to_string())?;
            let policy = c.webhook_policy().map_err(|e| e.to_string())?;
            assert!(policy.addresses().permits("10.9.8.7".parse().unwrap()));
            assert!(!policy.addresses().permits("127.0.0.1".parse().unwrap()));
            jail.set_env("DOCKET_WEBHOOKS_ALLOW_PRIVATE", "127.0.0.0/8, 192.168.0.1");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            let policy = c.webhook_policy().map_err(|e| e.to_string())?;
            assert!(policy.addresses().permits("127.0.0.1".parse().unwrap()));
            assert!(policy.addresses().permits("192.168.0.1".parse().unwrap()));
            assert!(!policy.addresses().permits("10.9.8.7".parse().unwrap()));
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file("docket.toml", "[webhooks]\nallow_privat = []\n")?;
            let e = Config::load(None).expect_err("a misspelt key");
            assert!(format!("{e:#}").contains("allow_privat"), "{e:#}");
            jail.create_file(
                "docket.toml",
                "[webhooks]\nallow_private = [\"10.0.0.0/40\"]\n",
            )?;
            let c = Config::load(None).map_err(|e| e.to_string())?;
            let e = c.webhook_policy().expect_err("a bad range");
            assert!(e.to_string().contains("10.0.0.0/40"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn publish_targets_are_read_with_their_password_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "docket.toml",
                "[publish.targets.archive]\nurl = \"https://repo.example.org/\"\n\
                 user = \"jsonapi\"\nmode = \"ami_set\"\nconcurrency = 2\n\
                 types = { invoices = \"Text\" }\n",
            )?;
            jail.set_env("DOCKET_PUBLISH_ARCHIVE_PASSWORD", "pw");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            let targets = c.publish_targets().map_err(|e| e.to_string())?;
            let t = targets.get("archive").expect("the target");
            assert_eq!(t.url, "https://repo.example.org");
            assert_eq!(t.password.expose(), "pw");
            assert_eq!(t.mode, docket_core::PublishMode::AmiSet);
            assert_eq!(t.types.get("invoices").map(String::as_str), Some("Text"));
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "docket.toml",
                "[publish.targets.archive]\nurl = \"https://repo.example.org\"\nuser = \"u\"\npasword = \"x\"\n",
            )?;
            let e = Config::load(None).expect_err("a misspelt key");
            assert!(format!("{e:#}").contains("pasword"), "{e:#}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "docket.toml",
                "[publish.targets.archive]\nurl = \"https://repo.example.org\"\nuser = \"u\"\n",
            )?;
            let c = Config::load(None).map_err(|e| e.to_string())?;
            let e = c.publish_targets().expect_err("no password");
            assert!(
                e.to_string().contains("DOCKET_PUBLISH_ARCHIVE_PASSWORD"),
                "{e}"
            );
            Ok(())
        });
    }
}
