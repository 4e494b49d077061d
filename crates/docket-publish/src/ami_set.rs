//! `ami_set` mode: every succeeded document of a job becomes a row of one AMI set. Steps,
//! each checkpointed: build the CSV and the ZIP into blob storage (streamed, never whole in
//! memory), create the `ami_set_entity` under a UUID Docket derives from the target and the
//! job, attach the CSV (`source_data`) and the ZIP (`zip_file`), and write the set's
//! configuration naming both. AMI cannot be started over the API (ARCHIPELAGO.md): the set
//! is left `READY`, and the job's result names its process page.

use docket_core::Stage;
use docket_engine::{HandlerError, ItemContext};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::archipelago::{file_ref, Created, FileRef};
use crate::handler::{remote_error, store_error, PublishHandler};
use crate::metadata::set_uuid;
use crate::Archipelago;

const SET_TYPE: &str = "ami_set_entity--ami_set_entity";
const SETS: &str = "ami_set_entity/ami_set_entity";

/// What a set's publish has done so far.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Checkpoint {
    /// The CSV and ZIP, built into blob storage.
    bundle: Option<crate::bundle::Built>,
    /// The set's Drupal id (for its process page), once it exists.
    set_id: Option<i64>,
    created: bool,
    csv: Option<FileRef>,
    zip: Option<FileRef>,
}

pub(crate) async fn publish(
    handler: &PublishHandler,
    ctx: &ItemContext,
    target: &str,
    source_job: &str,
) -> Result<Value, HandlerError> {
    let connection = handler.connection(target)?;
    let client = &connection.client;
    let mut at: Checkpoint = ctx
        .checkpoint()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let uuid = set_uuid(client.target(), source_job).to_string();
    let path = format!("{SETS}/{uuid}");

    ctx.enter_stage(Stage::Loading)?;
    let bundle = match at.bundle.clone() {
        Some(bundle) => bundle,
        None => {
            let bundle = crate::bundle::build(handler, ctx, client.target(), source_job).await?;
            at.bundle = Some(bundle.clone());
            save(ctx, &at).await?;
            bundle
        }
    };
    if bundle.rows == 0 {
        return Err(HandlerError::Permanent(format!(
            "the job {source_job} has no succeeded documents to publish"
        )));
    }

    let _permit = connection
        .permits
        .acquire()
        .await
        .map_err(|_| HandlerError::Interrupted)?;
    ctx.enter_stage(Stage::Uploading)?;
    // What the repository already holds decides what is left to do: the set may have been
    // made, and a file attached, by an attempt whose answer (or checkpoint) was lost.
    let existing = client
        .get("looking the set up", &path)
        .await
        .map_err(remote_error)?;
    match existing {
        Some(set) => {
            at.set_id = at.set_id.or_else(|| drupal_id(&set));
            at.created = true;
        }
        None => {
            let attributes = json!({
                "name": set_name(source_job),
                "status": "READY",
                "set": {"value": set_config(&bundle, None, None).to_string()},
            });
            let created = client
                .create("creating the AMI set", SETS, SET_TYPE, &uuid, attributes)
                .await
                .map_err(remote_error)?;
            if let Created::New(doc) = created {
                at.set_id = drupal_id(&doc);
            }
            at.created = true;
        }
    }
    save(ctx, &at).await?;
    for field in ["source_data", "zip_file"] {
        let done = match field {
            "source_data" => at.csv.is_some(),
            _ => at.zip.is_some(),
        };
        if done {
            continue;
        }
        let file = match attached(client, &path, field).await? {
            Some(file) => file,
            None => attach(handler, client, &path, field, &bundle, source_job).await?,
        };
        match field {
            "source_data" => at.csv = Some(file),
            _ => at.zip = Some(file),
        }
        save(ctx, &at).await?;
    }

    ctx.enter_stage(Stage::Creating)?;
    let config = set_config(&bundle, at.csv.as_ref(), at.zip.as_ref());
    let answer = client
        .patch(
            "configuring the AMI set",
            &path,
            SET_TYPE,
            &uuid,
            json!({"set": {"value": config.to_string()}, "status": "READY"}),
        )
        .await
        .map_err(remote_error)?;
    let set_id = at.set_id.or_else(|| drupal_id(&answer));
    let page = match set_id {
        Some(id) => format!("{}/amiset/{id}/process", client.target().url),
        None => format!("{}/amiset/{uuid}/process", client.target().url),
    };
    let result = json!({
        "target": client.target().name,
        "mode": "ami_set",
        "set_uuid": uuid,
        "set_id": set_id,
        "process_url": page,
        "rows": bundle.rows,
        "csv": at.csv,
        "zip": at.zip,
    });
    handler
        .store
        .set_job_result(&ctx.item().job_id, result.clone())
        .await
        .map_err(|e| store_error("recording the job's result", e))?;
    Ok(result)
}

async fn save(ctx: &ItemContext, at: &Checkpoint) -> Result<(), HandlerError> {
    ctx.save_checkpoint(json!(at)).await
}

fn set_name(source_job: &str) -> String {
    format!("Docket {source_job}")
}

fn drupal_id(document: &Value) -> Option<i64> {
    document
        .pointer("/data/attributes/drupal_internal__id")
        .and_then(Value::as_i64)
}

/// The file already attached to the set's `field`, if the repository says so.
async fn attached(
    client: &Archipelago,
    set_path: &str,
    field: &str,
) -> Result<Option<FileRef>, HandlerError> {
    let related = client
        .get("looking the set's files up", &format!("{set_path}/{field}"))
        .await
        .map_err(remote_error)?;
    Ok(related.as_ref().and_then(file_ref))
}

async fn attach(
    handler: &PublishHandler,
    client: &Archipelago,
    set_path: &str,
    field: &str,
    bundle: &crate::bundle::Built,
    source_job: &str,
) -> Result<FileRef, HandlerError> {
    let (key, filename, what) = match field {
        "source_data" => (
            &bundle.csv_key,
            format!("{source_job}.csv"),
            "uploading the CSV",
        ),
        _ => (
            &bundle.zip_key,
            format!("{source_job}.zip"),
            "uploading the ZIP",
        ),
    };
    handler
        .upload_blob(client, what, &format!("{set_path}/{field}"), &filename, key)
        .await
}

/// The set's configuration (ARCHIPELAGO.md: a direct mapping of Docket's CSV columns).
fn set_config(
    bundle: &crate::bundle::Built,
    csv: Option<&FileRef>,
    zip: Option<&FileRef>,
) -> Value {
    let fid = |f: Option<&FileRef>| f.map(|f| f.fid.to_string()).unwrap_or_default();
    json!({
        "plugin": "spreadsheet",
        "pluginconfig": {"op": "create", "file": [fid(csv)]},
        "mapping": {
            "globalmapping": "direct",
            "custommapping_settings": null,
            "globalmapping_settings": {
                "files": {"documents": "documents", "images": "images"},
                "bundle": "digital_object:field_descriptive_metadata",
                "metadata_config": {"template": null, "webform": null},
            },
        },
        "adomapping": {
            "base": {"label": "label"},
            "uuid": {"uuid": "node_uuid"},
            "parents": {"ismemberof": "ismemberof"},
            "autouuid": 0,
        },
        "csv": fid(csv),
        "zip": fid(zip),
        "column_keys": crate::bundle::COLUMNS,
        "total_rows": bundle.rows,
    })
}
