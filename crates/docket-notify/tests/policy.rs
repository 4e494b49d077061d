//! The webhook destination policy, on what Docket would dial. Every connection these tests let
//! happen goes to a receiver on loopback; anything else is only ever resolved (by a resolver
//! of the test's own, which records the names asked), never dialled.

mod support;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docket_core::{RetryPolicy, WebhookState};
use docket_notify::{AddressPolicy, Notifier, NotifyConfig, Refusal, WebhookPolicy};
use docket_store::prelude::*;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use support::{deliver_until_settled, finished_job, start, Receiver, SECRET};

/// Answers each look-up of any name with the next answer in line (the last one repeats), and
/// records the names it was asked for.
#[derive(Clone, Default)]
struct ScriptedResolver {
    answers: Arc<Mutex<VecDeque<IpAddr>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ScriptedResolver {
    fn answering(answers: &[&str]) -> ScriptedResolver {
        let r = ScriptedResolver::default();
        r.answers
            .lock()
            .unwrap()
            .extend(answers.iter().map(|a| a.parse::<IpAddr>().unwrap()));
        r
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Resolve for ScriptedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        self.asked.lock().unwrap().push(name.as_str().to_owned());
        let mut answers = self.answers.lock().unwrap();
        let answer = if answers.len() > 1 {
            answers.pop_front()
        } else {
            answers.front().copied()
        };
        Box::pin(async move {
            let ip = answer.ok_or("no answer scripted")?;
            Ok::<Addrs, Box<dyn std::error::Error + Send + Sync>>(Box::new(std::iter::once(
                SocketAddr::new(ip, 0),
            )))
        })
    }
}

fn config(policy: WebhookPolicy) -> NotifyConfig {
    NotifyConfig {
        max_attempts: 2,
        retry: RetryPolicy {
            base_ms: 20,
            factor: 1.0,
            cap_ms: 20,
        },
        poll: Duration::from_millis(20),
        policy,
        ..NotifyConfig::new(SECRET.into())
    }
}

/// The URL of `receiver` under a name instead of its loopback address.
fn named(url: &str, host: &str) -> String {
    url.replace("127.0.0.1", host)
}

#[tokio::test]
async fn submit_refuses_every_spelling_of_an_internal_address() {
    let policy = WebhookPolicy::new(AddressPolicy::public_only());
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
    ] {
        assert!(
            matches!(policy.check(url).await, Err(Refusal::NotPublic(_))),
            "{url} must be refused"
        );
    }
    // `localhost` resolves (from /etc/hosts) to loopback only.
    assert!(matches!(
        policy.check("http://localhost:8080/hook").await,
        Err(Refusal::NotPublic(_))
    ));
    assert_eq!(
        policy.check("http://user:pw@hooks.example.com/").await,
        Err(Refusal::Credentials)
    );
    assert_eq!(
        policy.check("ftp://hooks.example.com/").await,
        Err(Refusal::NotHttp)
    );
}

#[tokio::test]
async fn submit_judges_a_name_by_every_address_it_resolves_to() {
    let metadata = ScriptedResolver::answering(&["169.254.169.254"]);
    let policy = WebhookPolicy::with_resolver(AddressPolicy::public_only(), Arc::new(metadata));
    assert!(matches!(
        policy.check("https://hooks.example.com/x").await,
        Err(Refusal::NotPublic(host)) if host == "hooks.example.com"
    ));
    let public = ScriptedResolver::answering(&["93.184.216.34"]);
    let policy =
        WebhookPolicy::with_resolver(AddressPolicy::public_only(), Arc::new(public.clone()));
    assert_eq!(policy.check("https://hooks.example.com/x").await, Ok(()));
    assert_eq!(public.asked(), vec!["hooks.example.com".to_string()]);
    // The allow-list admits a private receiver.
    let private = ScriptedResolver::answering(&["10.1.2.3"]);
    let allowed = AddressPolicy::parse(&["10.0.0.0/8".into()]).unwrap();
    let policy = WebhookPolicy::with_resolver(allowed, Arc::new(private));
    assert_eq!(policy.check("http://hooks.internal/x").await, Ok(()));
}

/// DNS rebinding: the name resolves to a public address when the job is submitted, then to
/// loopback when the webhook is sent. The second answer is refused where it is dialled.
async fn rebinding_is_refused_at_connect_time(store: Arc<dyn Store>) {
    let receiver = Receiver::default();
    let url = named(&start(receiver.clone()).await, "rebind.example.com");
    let resolver = ScriptedResolver::answering(&["93.184.216.34", "127.0.0.1"]);
    let policy =
        WebhookPolicy::with_resolver(AddressPolicy::public_only(), Arc::new(resolver.clone()));
    assert_eq!(policy.check(&url).await, Ok(()), "public at submit");

    let id = finished_job(&store, &url).await;
    let notifier = Notifier::new(store.clone(), config(policy)).unwrap();
    assert_eq!(
        deliver_until_settled(&store, &notifier, &id).await,
        WebhookState::Failed
    );
    assert!(
        receiver.seen.lock().unwrap().is_empty(),
        "nothing reached loopback"
    );
    assert_eq!(
        resolver.asked().len(),
        3,
        "looked up at submit and at each of 2 attempts"
    );
    let hook = store
        .get_job(&id, 0)
        .await
        .unwrap()
        .unwrap()
        .webhook
        .unwrap();
    for attempt in &hook.attempts {
        assert_eq!(attempt.status, None);
        assert_eq!(attempt.error.as_deref(), Some("refused by policy"));
    }
}

/// A job stored with a literal internal address (before the policy, or under a laxer
/// configuration) is refused when sent, not dialled.
async fn a_literal_internal_address_is_not_dialled(store: Arc<dyn Store>) {
    let receiver = Receiver::default();
    let url = start(receiver.clone()).await;
    let id = finished_job(&store, &url).await;
    let notifier = Notifier::new(store.clone(), config(WebhookPolicy::default())).unwrap();
    assert_eq!(
        deliver_until_settled(&store, &notifier, &id).await,
        WebhookState::Failed
    );
    assert!(receiver.seen.lock().unwrap().is_empty());
    let hook = store
        .get_job(&id, 0)
        .await
        .unwrap()
        .unwrap()
        .webhook
        .unwrap();
    assert!(hook
        .attempts
        .iter()
        .all(|a| a.error.as_deref() == Some("refused by policy")));
}

/// With loopback on the allow-list, a name that resolves there is delivered to: the policy
/// resolver hands the client exactly the permitted address.
async fn an_allowed_private_name_is_delivered(store: Arc<dyn Store>) {
    let receiver = Receiver::default();
    let url = named(&start(receiver.clone()).await, "hooks.internal");
    let resolver = ScriptedResolver::answering(&["127.0.0.1"]);
    let allowed = AddressPolicy::parse(&["127.0.0.0/8".into()]).unwrap();
    let policy = WebhookPolicy::with_resolver(allowed, Arc::new(resolver.clone()));
    assert_eq!(policy.check(&url).await, Ok(()));
    let id = finished_job(&store, &url).await;
    let notifier = Notifier::new(store.clone(), config(policy)).unwrap();
    assert_eq!(
        deliver_until_settled(&store, &notifier, &id).await,
        WebhookState::Delivered
    );
    assert_eq!(receiver.seen.lock().unwrap().len(), 1);
    assert_eq!(resolver.asked(), vec!["hooks.internal", "hooks.internal"]);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(docket_store::testing::fresh_sqlite().await.0).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(docket_store::testing::fresh_postgres().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    rebinding_is_refused_at_connect_time,
    a_literal_internal_address_is_not_dialled,
    an_allowed_private_name_is_delivered,
);
