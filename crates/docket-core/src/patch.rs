//! A change to an unfinished job (`PATCH /v1/jobs/{id}`): its priority and its worker cap.

use serde::{Deserialize, Deserializer};

use crate::{CoreError, Priority};

/// What a `PATCH` may change; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    #[serde(default)]
    pub priority: Option<Priority>,
    /// A new cap on the job's items running at once; `null` removes the cap.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1))]
    pub max_workers: Option<Option<u32>>,
}

/// A field that is present (even as `null`) is `Some`; absent, `#[serde(default)]` gives
/// `None`. This tells "remove the cap" from "leave it".
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

impl JobPatch {
    /// Parses and validates a patch given as JSON.
    pub fn from_json(value: &serde_json::Value) -> Result<JobPatch, CoreError> {
        let patch: JobPatch = serde_json::from_value(value.clone())
            .map_err(|e| CoreError::InvalidOption(e.to_string()))?;
        if patch == JobPatch::default() {
            return Err(CoreError::InvalidOption(
                "nothing to change: give `priority` or `max_workers`".into(),
            ));
        }
        if patch.max_workers == Some(Some(0)) {
            return Err(CoreError::InvalidOption(
                "max_workers must be at least 1".into(),
            ));
        }
        Ok(patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_null_and_bad_values() {
        let p = JobPatch::from_json(&json!({"priority": "high"})).unwrap();
        assert_eq!(p.priority, Some(Priority::High));
        assert_eq!(p.max_workers, None);
        let p = JobPatch::from_json(&json!({"max_workers": null})).unwrap();
        assert_eq!(p.max_workers, Some(None));
        let p = JobPatch::from_json(&json!({"max_workers": 3})).unwrap();
        assert_eq!(p.max_workers, Some(Some(3)));
        for bad in [
            json!({}),
            json!({"priority": "urgent"}),
            json!({"max_workers": 0}),
            json!({"max_workers": -1}),
            json!({"state": "running"}),
            json!([]),
        ] {
            assert!(JobPatch::from_json(&bad).is_err(), "{bad}");
        }
    }
}
