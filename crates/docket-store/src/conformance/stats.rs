//! Conformance: job statistics for `/metrics`.

use super::*;

pub async fn job_stats_sum_the_counters_by_state(store: Arc<dyn Store>) {
    assert!(store.job_stats().await.unwrap().is_empty());
    let done = store
        .create_job(new_job("u", 3, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    store
        .create_job(new_job("v", 4, JobOptions::default()), 0)
        .await
        .unwrap();
    let c = store.claim(W, JobKind::ALL, 10, LEASE, 0).await.unwrap();
    let mine: Vec<_> = c.iter().filter(|c| c.job_id == done).map(succeed).collect();
    store.complete(W, mine, 1).await.unwrap();
    let stats = store.job_stats().await.unwrap();
    let completed = stats
        .iter()
        .find(|(s, _, _)| *s == JobState::Completed)
        .expect("completed");
    assert_eq!((completed.1, completed.2.succeeded), (1, 3));
    let running = stats
        .iter()
        .find(|(s, _, _)| *s == JobState::Running)
        .expect("running");
    assert_eq!((running.1, running.2.total, running.2.running), (1, 4, 4));
}
