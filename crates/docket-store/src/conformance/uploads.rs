//! Conformance: resumable uploads.

use super::*;
use crate::{NewResumableUpload, UploadAdvance};

fn new_upload(id: &str, user: &str, length: u64, expires_at: i64) -> NewResumableUpload {
    NewResumableUpload {
        id: id.into(),
        user: user.into(),
        length,
        name: format!("{id}.pdf"),
        media_type: Some("application/pdf".into()),
        metadata: "filename YS5wZGY=".into(),
        hash_state: "state-0".into(),
        blob: format!("resumable/{id}/data"),
        object_state: None,
        expires_at,
    }
}

fn advance<'a>(from: u64, to: u64, state: &'a str, sha: Option<&'a str>) -> UploadAdvance<'a> {
    UploadAdvance {
        from,
        to,
        hash_state: state,
        sha256: sha,
        expires_at: 10_000,
        object_state: None,
    }
}

pub async fn an_upload_has_one_writer_at_a_time_and_keeps_its_object_state(store: Arc<dyn Store>) {
    let mut new = new_upload("upl_w", "alice", 20, 1_000);
    new.object_state = Some("{\"multipart\":\"m1\",\"parts\":[]}".into());
    let created = store.create_upload(new, 5).await.unwrap();
    assert_eq!(
        created.object_state.as_deref(),
        Some("{\"multipart\":\"m1\",\"parts\":[]}")
    );

    assert!(store.hold_upload("upl_w", "w1", 100, 10).await.unwrap());
    assert!(
        !store.hold_upload("upl_w", "w2", 110, 20).await.unwrap(),
        "a held upload refuses a second writer"
    );
    assert!(
        store.hold_upload("upl_w", "w1", 150, 30).await.unwrap(),
        "its writer renews"
    );
    assert!(
        !store.hold_upload("upl_w", "w2", 160, 120).await.unwrap(),
        "the renewal counts"
    );
    assert!(
        store.hold_upload("upl_w", "w2", 200, 150).await.unwrap(),
        "a lapsed hold goes to the next writer"
    );
    assert!(
        !store.hold_upload("upl_w", "w1", 210, 160).await.unwrap(),
        "and the old writer has lost it"
    );
    store.release_upload("upl_w", "w1").await.unwrap();
    assert!(
        !store.hold_upload("upl_w", "w3", 210, 160).await.unwrap(),
        "a writer cannot release another's hold"
    );
    store.release_upload("upl_w", "w2").await.unwrap();
    assert!(store.hold_upload("upl_w", "w3", 300, 170).await.unwrap());
    assert!(!store.hold_upload("nope", "w3", 300, 170).await.unwrap());

    let mut step = advance(0, 8, "s8", None);
    step.object_state = Some("{\"multipart\":\"m1\",\"parts\":[\"e1\"]}");
    assert!(store.advance_upload("upl_w", step, 180).await.unwrap());
    let up = store.upload("upl_w", "alice").await.unwrap().unwrap();
    assert_eq!(
        up.object_state.as_deref(),
        Some("{\"multipart\":\"m1\",\"parts\":[\"e1\"]}")
    );
    assert!(store
        .advance_upload("upl_w", advance(8, 9, "s9", None), 190)
        .await
        .unwrap());
    let up = store.upload("upl_w", "alice").await.unwrap().unwrap();
    assert_eq!(
        up.object_state.as_deref(),
        Some("{\"multipart\":\"m1\",\"parts\":[\"e1\"]}"),
        "an advance without a state keeps the one stored"
    );
}

pub async fn uploads_advance_only_from_their_offset_and_belong_to_their_user(
    store: Arc<dyn Store>,
) {
    let created = store
        .create_upload(new_upload("upl_a", "alice", 10, 1_000), 5)
        .await
        .unwrap();
    assert_eq!((created.received, created.length), (0, 10));
    assert_eq!(created.sha256, None);
    assert!(!created.is_finished());
    assert_eq!(store.upload("upl_a", "bob").await.unwrap(), None);
    assert!(store.upload("upl_a", "alice").await.unwrap().is_some());

    assert!(store
        .advance_upload("upl_a", advance(0, 4, "state-4", None), 6)
        .await
        .unwrap());
    assert!(
        !store
            .advance_upload("upl_a", advance(0, 6, "stale", None), 7)
            .await
            .unwrap(),
        "a second PATCH from the old offset loses"
    );
    let up = store.upload("upl_a", "alice").await.unwrap().unwrap();
    assert_eq!((up.received, up.hash_state.as_str()), (4, "state-4"));
    assert_eq!(up.expires_at, 10_000, "each PATCH pushes the expiry back");
    assert!(
        store
            .advance_upload("upl_a", advance(4, 11, "past", None), 8)
            .await
            .is_err(),
        "the schema refuses an offset past the length"
    );
    assert!(
        store
            .advance_upload("upl_a", advance(4, 10, "done", None), 8)
            .await
            .is_err(),
        "a finished upload has its sha256"
    );
    assert!(store
        .advance_upload("upl_a", advance(4, 10, "done", Some("ab")), 9)
        .await
        .unwrap());
    let done = store.upload("upl_a", "alice").await.unwrap().unwrap();
    assert!(done.is_finished());
    assert_eq!(done.sha256.as_deref(), Some("ab"));

    let empty = store
        .create_upload(new_upload("upl_e", "alice", 0, 1_000), 5)
        .await
        .unwrap();
    assert!(empty.is_finished(), "an empty upload is finished at once");
    assert_eq!(
        empty.sha256.as_deref(),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}

pub async fn terminated_and_expired_uploads_are_removable_and_forgotten(store: Arc<dyn Store>) {
    store
        .create_upload(new_upload("upl_old", "alice", 10, 100), 1)
        .await
        .unwrap();
    store
        .create_upload(new_upload("upl_new", "alice", 10, 5_000), 1)
        .await
        .unwrap();
    store
        .create_upload(new_upload("upl_del", "alice", 10, 5_000), 1)
        .await
        .unwrap();
    assert!(!store.expire_upload("upl_del", "bob", 50).await.unwrap());
    assert!(store.expire_upload("upl_del", "alice", 50).await.unwrap());
    let up = store.upload("upl_del", "alice").await.unwrap().unwrap();
    assert!(up.is_expired(50));
    assert!(
        !store
            .advance_upload("upl_old", advance(0, 1, "s", None), 200)
            .await
            .unwrap(),
        "an expired upload takes no more bytes"
    );
    let ids = |v: Vec<crate::ResumableUpload>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.removable_uploads(200, 10).await.unwrap()),
        vec!["upl_del", "upl_old"]
    );
    assert_eq!(
        ids(store.removable_uploads(200, 1).await.unwrap()),
        vec!["upl_del"]
    );
    assert!(!store.forget_upload("upl_new", 200).await.unwrap());
    assert!(store.forget_upload("upl_old", 200).await.unwrap());
    assert!(store.forget_upload("upl_del", 200).await.unwrap());
    assert_eq!(store.upload("upl_old", "alice").await.unwrap(), None);
    assert!(store.removable_uploads(200, 10).await.unwrap().is_empty());
}

pub async fn finished_uploads_are_consumed_once_with_their_job(store: Arc<dyn Store>) {
    for id in ["upl_1", "upl_2", "upl_half", "upl_bob"] {
        let user = if id == "upl_bob" { "bob" } else { "alice" };
        store
            .create_upload(new_upload(id, user, 4, 1_000_000), 1)
            .await
            .unwrap();
        if id != "upl_half" {
            assert!(store
                .advance_upload(id, advance(0, 4, "s", Some("cd")), 2)
                .await
                .unwrap());
        }
    }
    let job = |uploads: &[&str]| NewJob {
        id: None,
        user: "alice".into(),
        kind: JobKind::Process,
        options: JobOptions::default(),
        idempotency_key: Some(uploads.join(",")),
        source: None,
        items: uploads
            .iter()
            .map(|u| NewItem {
                name: format!("{u}.pdf"),
                payload: docket_core::ItemPayload::Upload {
                    blob: format!("resumable/{u}/data"),
                    size: 4,
                    sha256: "cd".into(),
                },
            })
            .collect(),
    };
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for refused in [
        vec!["upl_1", "upl_half"],
        vec!["upl_1", "upl_bob"],
        vec!["upl_1", "upl_missing"],
    ] {
        let err = store
            .create_job_from_uploads(job(&refused), &ids(&refused), 3)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains(refused[1])),
            "{err}"
        );
    }
    let up = store.upload("upl_1", "alice").await.unwrap().unwrap();
    assert_eq!(up.job_id, None, "a refused submit consumes nothing");

    let created = store
        .create_job_from_uploads(job(&["upl_1", "upl_2"]), &ids(&["upl_1", "upl_2"]), 4)
        .await
        .unwrap();
    assert!(created.created);
    assert_eq!(created.job.counts.total, 2);
    let up = store.upload("upl_2", "alice").await.unwrap().unwrap();
    assert_eq!(up.job_id.as_deref(), Some(created.job.id.as_str()));

    let replay = store
        .create_job_from_uploads(job(&["upl_1", "upl_2"]), &ids(&["upl_1", "upl_2"]), 5)
        .await
        .unwrap();
    assert!(
        !replay.created,
        "the same idempotency key answers the first job"
    );
    assert_eq!(replay.job.id, created.job.id);

    let mut again = job(&["upl_1"]);
    again.idempotency_key = None;
    let err = store
        .create_job_from_uploads(again, &ids(&["upl_1"]), 6)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "consumed once");
    assert!(
        store
            .removable_uploads(i64::MAX, 10)
            .await
            .unwrap()
            .iter()
            .all(|u| u.job_id.is_none()),
        "a consumed upload stays while its job exists"
    );
    store.cancel_job(&created.job.id, 6).await.unwrap();
    store.delete_job(&created.job.id).await.unwrap();
    let mut gone: Vec<String> = store
        .removable_uploads(7, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    gone.sort();
    assert_eq!(gone, vec!["upl_1", "upl_2"], "and goes with it");
}
