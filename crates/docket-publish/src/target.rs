//! Publish targets: trusted server configuration (`[publish.targets.NAME]`, SPEC §6). Users
//! only ever name one; its URL and credentials never leave the server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use docket_core::PublishMode;
use docket_remote::Secret;
use serde::{Deserialize, Serialize};

use crate::PublishError;

/// One `[publish.targets.NAME]` section as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The Drupal site; JSON:API lives under `/jsonapi`.
    pub url: String,
    pub user: String,
    /// A file holding the password; else `DOCKET_PUBLISH_<NAME>_PASSWORD`.
    pub password_file: Option<PathBuf>,
    /// The default mode of a publish to this target.
    pub mode: Option<PublishMode>,
    /// `ismemberof` of every object: a collection's UUID (or node id).
    pub collection: Option<String>,
    /// Category → AMI/ADO type; a document without a mapped category is typed by its media
    /// type.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// Parallel uploads to this target (per process). Default 4.
    pub concurrency: Option<usize>,
    /// Seconds a single request may take. Default 120 (Archipelago's own
    /// `fastcgi_read_timeout`).
    pub timeout_seconds: Option<u64>,
    /// How long one call keeps retrying in place through a blip (a dropped connection, a 503,
    /// a 429's `Retry-After`) before the item's attempt fails and the engine's own retries
    /// take over. Default 45.
    pub retry_budget_seconds: Option<u64>,
    /// Requests per second this process sends to the target, on average (fractions allowed);
    /// none: as fast as it answers. 429s slow it down further by themselves.
    pub requests_per_second: Option<f64>,
    /// Requests that may go at once after a quiet spell. Default 1.
    pub burst: Option<u32>,
}

/// A target, resolved: its password read, its defaults applied.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// Without a trailing slash.
    pub url: String,
    pub user: String,
    pub password: Secret,
    pub mode: PublishMode,
    pub collection: Option<String>,
    pub types: BTreeMap<String, String>,
    pub concurrency: usize,
    pub timeout: std::time::Duration,
    pub retry_budget: std::time::Duration,
    /// This process's request rate to the target (`None`: unpaced).
    pub rate: Option<docket_remote::Rate>,
}

impl Target {
    /// Resolves a section; `env` looks up environment variables (for the password).
    pub fn resolve(
        name: &str,
        config: &TargetConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Target, PublishError> {
        let bad = |why: String| PublishError::Config {
            target: name.to_string(),
            why,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("a target's name is letters, digits, `_` and `-`".into()));
        }
        let url = url::Url::parse(&config.url).map_err(|e| bad(format!("`url`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("`url` must be an http(s) URL of the Drupal site".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "`url` must not carry credentials: use `user` and `password_file`".into(),
            ));
        }
        if config.user.is_empty() {
            return Err(bad("`user` is required".into()));
        }
        let variable = format!(
            "DOCKET_PUBLISH_{}_PASSWORD",
            name.to_ascii_uppercase().replace('-', "_")
        );
        let password = match (&config.password_file, env(&variable)) {
            (_, Some(password)) if !password.is_empty() => password,
            (Some(file), _) => std::fs::read_to_string(file)
                .map_err(|e| bad(format!("`password_file` {}: {e}", file.display())))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            (None, _) => {
                return Err(bad(format!(
                    "no password: set `password_file` or {variable}"
                )))
            }
        };
        let concurrency = config.concurrency.unwrap_or(4);
        if !(1..=64).contains(&concurrency) {
            return Err(bad("`concurrency` is between 1 and 64".into()));
        }
        let rate = match config.requests_per_second {
            None => None,
            Some(rps) if rps.is_finite() && rps > 0.0 && rps <= 100_000.0 => {
                Some(docket_remote::Rate {
                    per_second: rps,
                    burst: config.burst.unwrap_or(1).max(1),
                })
            }
            Some(_) => {
                return Err(bad(
                    "`requests_per_second` must be above 0 (and at most 100000)".into(),
                ))
            }
        };
        Ok(Target {
            rate,
            name: name.to_string(),
            url: config.url.trim_end_matches('/').to_string(),
            user: config.user.clone(),
            password: Secret::new(password),
            mode: config.mode.unwrap_or(PublishMode::Objects),
            collection: config.collection.clone().filter(|c| !c.is_empty()),
            types: config.types.clone(),
            concurrency,
            timeout: std::time::Duration::from_secs(config.timeout_seconds.unwrap_or(120).max(1)),
            retry_budget: std::time::Duration::from_secs(config.retry_budget_seconds.unwrap_or(45)),
        })
    }
}

/// Every configured target, by name.
#[derive(Debug, Clone, Default)]
pub struct Targets(BTreeMap<String, Arc<Target>>);

impl Targets {
    pub fn resolve(
        configs: &BTreeMap<String, TargetConfig>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Targets, PublishError> {
        let mut targets = BTreeMap::new();
        for (name, config) in configs {
            targets.insert(name.clone(), Arc::new(Target::resolve(name, config, &env)?));
        }
        Ok(Targets(targets))
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Target>> {
        self.0.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Target>> {
        self.0.values()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TargetConfig {
        TargetConfig {
            url: "http://127.0.0.1:9/".into(),
            user: "jsonapi".into(),
            ..TargetConfig::default()
        }
    }

    #[test]
    fn the_password_comes_from_the_environment_or_a_file() {
        let env = |k: &str| (k == "DOCKET_PUBLISH_MY_ARCHIVE_PASSWORD").then(|| "pw".to_string());
        let t = Target::resolve("my-archive", &config(), env).unwrap();
        assert_eq!(t.password.expose(), "pw");
        assert_eq!(t.url, "http://127.0.0.1:9");
        assert_eq!(t.mode, PublishMode::Objects);
        assert_eq!(t.concurrency, 4);

        let dir = std::env::temp_dir().join(format!("docket-pw-{}", std::process::id()));
        std::fs::write(&dir, "from-file\n").unwrap();
        let with_file = TargetConfig {
            password_file: Some(dir.clone()),
            ..config()
        };
        let t = Target::resolve("archive", &with_file, |_| None).unwrap();
        assert_eq!(t.password.expose(), "from-file");
        let _ = std::fs::remove_file(dir);
    }

    #[test]
    fn bad_sections_are_refused_with_the_reason() {
        let none = |_: &str| None;
        let e = Target::resolve("archive", &config(), none).unwrap_err();
        assert!(
            e.to_string().contains("DOCKET_PUBLISH_ARCHIVE_PASSWORD"),
            "{e}"
        );
        let env = |_: &str| Some("pw".to_string());
        let creds = TargetConfig {
            url: "https://u:p@repo.example.org".into(),
            ..config()
        };
        assert!(Target::resolve("archive", &creds, env).is_err());
        let ftp = TargetConfig {
            url: "ftp://repo.example.org".into(),
            ..config()
        };
        assert!(Target::resolve("archive", &ftp, env).is_err());
        assert!(Target::resolve("a b", &config(), env).is_err());
    }

    #[test]
    fn a_target_may_be_paced() {
        let env = |_: &str| Some("pw".to_string());
        assert!(Target::resolve("archive", &config(), env)
            .unwrap()
            .rate
            .is_none());
        let paced = TargetConfig {
            requests_per_second: Some(2.5),
            burst: Some(3),
            ..config()
        };
        let rate = Target::resolve("archive", &paced, env)
            .unwrap()
            .rate
            .unwrap();
        assert_eq!((rate.per_second, rate.burst), (2.5, 3));
        for bad in [0.0, -1.0, f64::NAN] {
            let c = TargetConfig {
                requests_per_second: Some(bad),
                ..config()
            };
            let e = Target::resolve("archive", &c, env).unwrap_err();
            assert!(e.to_string().contains("requests_per_second"), "{e}");
        }
    }
}
