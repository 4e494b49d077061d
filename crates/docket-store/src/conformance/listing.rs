//! Conformance: sources listed under a lease, then sealed.

use super::*;

fn sourced_job(user: &str) -> NewJob {
    NewJob {
        id: None,
        user: user.into(),
        kind: JobKind::Process,
        options: JobOptions::default(),
        idempotency_key: None,
        items: Vec::new(),
        source: Some(docket_core::JobSource::Folder {
            path: "/srv/scans".into(),
        }),
    }
}

fn listed(range: std::ops::Range<usize>) -> Vec<NewItem> {
    range
        .map(|i| NewItem {
            name: format!("f-{i:03}"),
            payload: docket_core::ItemPayload::ServerFile {
                path: format!("/srv/scans/{i}").into(),
            },
        })
        .collect()
}

pub async fn sources_are_listed_under_a_lease_and_sealed(store: Arc<dyn Store>) {
    let created = store.create_job(sourced_job("u"), 0).await.unwrap();
    let id = created.job.id.clone();
    assert_eq!(created.job.counts.total, 0);
    let listing = store
        .claim_listing("lister-a", JobKind::ALL, 1_000, 0)
        .await
        .unwrap()
        .expect("a listing");
    assert_eq!(listing.job_id, id);
    assert_eq!(
        listing.source,
        docket_core::JobSource::Folder {
            path: "/srv/scans".into()
        }
    );
    assert_eq!(listing.listed, 0);
    assert_eq!(listing.user, "u");
    assert!(
        store
            .claim_listing("lister-b", JobKind::ALL, 1_000, 10)
            .await
            .unwrap()
            .is_none(),
        "leased"
    );
    store
        .add_items(&id, "lister-a", listed(0..3), 1_000, 20)
        .await
        .unwrap();
    // Items are worked on while the listing goes on, and the job cannot complete before it ends.
    let c = store.claim(W, JobKind::ALL, 10, LEASE, 30).await.unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].user, "u");
    store
        .complete(W, c.iter().map(succeed).collect(), 40)
        .await
        .unwrap();
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Running, "not sealed yet: {j:?}");
    assert_eq!(j.counts.total, 3);
    // lister-a dies; lister-b takes over after the lease and skips what was listed.
    let again = store
        .claim_listing("lister-b", JobKind::ALL, 5_000, 1_001)
        .await
        .unwrap()
        .expect("taken over");
    assert_eq!(again.listed, 3);
    assert!(
        store
            .add_items(&id, "lister-a", listed(3..4), 9_000, 1_002)
            .await
            .is_err(),
        "lost its lease"
    );
    store
        .add_items(&id, "lister-b", listed(3..5), 5_000, 1_003)
        .await
        .unwrap();
    let sealed = store.seal_job(&id, "lister-b", 1_004).await.unwrap();
    assert_eq!(sealed.counts.total, 5);
    assert_eq!(sealed.state, JobState::Running);
    let c = store
        .claim(W, JobKind::ALL, 10, LEASE, 1_005)
        .await
        .unwrap();
    assert_eq!(
        c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["f-003", "f-004"]
    );
    store
        .complete(W, c.iter().map(succeed).collect(), 1_006)
        .await
        .unwrap();
    assert_eq!(job(&store, &id).await.state, JobState::Completed);
    assert!(
        store
            .claim_listing("lister-c", JobKind::ALL, 9_000, 9_000)
            .await
            .unwrap()
            .is_none(),
        "sealed jobs are not listed again"
    );
}

pub async fn an_empty_source_fails_the_job(store: Arc<dyn Store>) {
    let id = store.create_job(sourced_job("u"), 0).await.unwrap().job.id;
    let listing = store
        .claim_listing("lister", JobKind::ALL, 1_000, 0)
        .await
        .unwrap()
        .expect("listing");
    let j = store.seal_job(&listing.job_id, "lister", 1).await.unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert!(j.error.unwrap().contains("no files"));
    let other = store.create_job(sourced_job("u"), 2).await.unwrap().job.id;
    store
        .claim_listing("lister", JobKind::ALL, 1_000, 2)
        .await
        .unwrap()
        .expect("listing");
    let failed = store
        .fail_job(&other, "cannot read /srv/scans: permission denied", 3)
        .await
        .unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("cannot read /srv/scans: permission denied")
    );
    assert!(
        store
            .add_items(&other, "lister", listed(0..1), 1_000, 4)
            .await
            .is_err(),
        "a finished job takes no items"
    );
    assert_ne!(id, other);
}

/// Listings too are claimed only for the kinds a lister can list.
pub async fn listings_are_claimed_only_for_the_asked_kinds(store: Arc<dyn Store>) {
    let job_id = store.create_job(sourced_job("u"), 0).await.unwrap().job.id;
    assert!(store
        .claim_listing("lister", &[], 1_000, 1)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .claim_listing("lister", &[JobKind::Noop, JobKind::Export], 1_000, 1)
        .await
        .unwrap()
        .is_none());
    let listing = store
        .claim_listing("lister", &[JobKind::Noop, JobKind::Process], 1_000, 2)
        .await
        .unwrap()
        .expect("a process lister takes the process job's listing");
    assert_eq!((listing.job_id, listing.kind), (job_id, JobKind::Process));
}
