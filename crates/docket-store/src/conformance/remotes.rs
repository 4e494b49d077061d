//! Conformance: remotes' circuit breakers and the jobs that pause while a remote is down.

use super::*;
use docket_core::BreakerPolicy;

const POLICY: BreakerPolicy = BreakerPolicy {
    failures_to_trip: 3,
    window_ms: 10_000,
    probe_base_ms: 1_000,
    probe_cap_ms: 8_000,
};

async fn noop_job(store: &Arc<dyn Store>, n: usize) -> String {
    store
        .create_job(new_job("u", n, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id
}

pub async fn a_down_remote_pauses_its_jobs_and_resumes_only_those_when_back(store: Arc<dyn Store>) {
    let running = noop_job(&store, 2).await;
    let claimed = store.claim(W, JobKind::ALL, 1, LEASE, 1).await.unwrap();
    assert_eq!(claimed[0].job_id, running);
    let queued = noop_job(&store, 2).await;
    let users = noop_job(&store, 2).await;
    let taken_over = noop_job(&store, 2).await;
    let elsewhere = noop_job(&store, 2).await;

    // While the remote is up, nothing pauses: the caller just retries.
    assert!(!store.pause_for_remote(&queued, "vision", 2).await.unwrap());
    assert_eq!(job(&store, &queued).await.pause_reason, None);

    // Failures within the window trip the breaker; the same verdict for every caller.
    for (i, now) in [10, 20].into_iter().enumerate() {
        let h = store
            .remote_failed("vision", &format!("reset {i}"), POLICY, now)
            .await
            .unwrap();
        assert!(h.up, "{i} failures are not an outage yet");
    }
    let h = store
        .remote_failed("vision", "connection refused", POLICY, 30)
        .await
        .unwrap();
    assert!(!h.up);
    assert_eq!(h.since, 30);
    assert_eq!(h.next_probe_at, Some(1_030));
    let all = store.remote_health().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].last_error.as_deref(), Some("connection refused"));

    store
        .pause_job(&users, PauseReason::User, 35)
        .await
        .unwrap();
    for id in [&queued, &running, &users, &taken_over] {
        assert!(store.pause_for_remote(id, "vision", 40).await.unwrap());
    }
    let q = job(&store, &queued).await;
    assert_eq!(
        (q.state, q.pause_reason),
        (JobState::Paused, Some(PauseReason::RemoteUnavailable))
    );
    let r = job(&store, &running).await;
    assert_eq!(
        r.state,
        JobState::Running,
        "in flight: it pauses once they stop"
    );
    assert_eq!(r.pause_reason, Some(PauseReason::RemoteUnavailable));
    assert_eq!(
        job(&store, &users).await.pause_reason,
        Some(PauseReason::User),
        "a user's pause is not relabelled"
    );
    // A user who pauses a job that waits for the remote takes the pause over.
    store
        .pause_job(&taken_over, PauseReason::User, 45)
        .await
        .unwrap();
    assert_eq!(
        job(&store, &taken_over).await.pause_reason,
        Some(PauseReason::User)
    );

    // Probes: one per due time, for one caller only.
    assert!(!store.take_probe("vision", 0, 3_000, 500).await.unwrap());
    assert!(store.take_probe("vision", 0, 3_030, 1_030).await.unwrap());
    assert!(!store.take_probe("vision", 0, 3_030, 1_030).await.unwrap());
    let h = &store.remote_health().await.unwrap()[0];
    assert_eq!((h.probes, h.next_probe_at), (1, Some(3_030)));

    let mut resumed = store.remote_back("vision", 3_100).await.unwrap();
    resumed.sort();
    let mut expected = vec![queued.clone(), running.clone()];
    expected.sort();
    assert_eq!(resumed, expected);
    assert_eq!(job(&store, &queued).await.state, JobState::Running);
    assert_eq!(job(&store, &queued).await.pause_reason, None);
    let r = job(&store, &running).await;
    assert!(!r.pause_requested && r.pause_reason.is_none());
    for id in [&users, &taken_over] {
        let j = job(&store, id).await;
        assert_eq!(
            (j.state, j.pause_reason),
            (JobState::Paused, Some(PauseReason::User))
        );
    }
    assert_eq!(job(&store, &elsewhere).await.pause_reason, None);
    let h = &store.remote_health().await.unwrap()[0];
    assert!(h.up);
    assert_eq!((h.since, h.probes, h.next_probe_at), (3_100, 0, None));
    // Nothing waits any more: a second return resumes nothing.
    assert!(store.remote_back("vision", 3_200).await.unwrap().is_empty());

    // Answers reset the count of failures, so scattered failures never trip it.
    store
        .remote_failed("vision", "reset", POLICY, 4_000)
        .await
        .unwrap();
    store
        .remote_failed("vision", "reset", POLICY, 4_001)
        .await
        .unwrap();
    store.remote_answered("vision", 4_002).await.unwrap();
    let h = store
        .remote_failed("vision", "reset", POLICY, 4_003)
        .await
        .unwrap();
    assert!(h.up);
    assert_eq!(h.failures, 1);
}
