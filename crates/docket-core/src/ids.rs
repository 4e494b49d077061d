use std::fmt;
use std::str::FromStr;

use crate::CoreError;

/// `prefix` and a UUID in lowercase simple form.
fn is_prefixed_uuid(s: &str, prefix: &str) -> bool {
    s.len() == prefix.len() + 32
        && s.starts_with(prefix)
        && s[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A job id: `job_` followed by a UUIDv7 in simple form, so ids sort by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    pub fn generate() -> JobId {
        JobId(format!("job_{}", uuid::Uuid::now_v7().simple()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for JobId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_prefixed_uuid(s, "job_") {
            Ok(JobId(s.to_string()))
        } else {
            Err(CoreError::MalformedId(s.to_string()))
        }
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resumable upload's id (tus, `/v1/uploads/{id}`): `upl_` followed by a UUIDv7 in simple
/// form, like a job id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(String);

impl UploadId {
    pub fn generate() -> UploadId {
        UploadId(format!("upl_{}", uuid::Uuid::now_v7().simple()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UploadId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_prefixed_uuid(s, "upl_") {
            Ok(UploadId(s.to_string()))
        } else {
            Err(CoreError::MalformedId(s.to_string()))
        }
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A schedule's id: `sch_` followed by a UUIDv7 in simple form, like a job id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScheduleId(String);

impl ScheduleId {
    pub fn generate() -> ScheduleId {
        ScheduleId(format!("sch_{}", uuid::Uuid::now_v7().simple()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ScheduleId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_prefixed_uuid(s, "sch_") {
            Ok(ScheduleId(s.to_string()))
        } else {
            Err(CoreError::MalformedId(s.to_string()))
        }
    }
}

impl fmt::Display for ScheduleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An item id. Items are stored under a 64-bit integer key (cheap to insert by the million);
/// the public form is `itm_` and that number in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub i64);

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "itm_{:x}", self.0)
    }
}

impl FromStr for ItemId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix("itm_")
            .filter(|h| !h.is_empty() && h.len() <= 16)
            .and_then(|h| i64::from_str_radix(h, 16).ok())
            .map(ItemId)
            .ok_or_else(|| CoreError::MalformedId(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let j = JobId::generate();
        assert_eq!(j.as_str().parse::<JobId>().ok(), Some(j));
        assert_eq!("itm_ff".parse::<ItemId>().ok(), Some(ItemId(255)));
        assert_eq!(ItemId(255).to_string(), "itm_ff");
        assert!("job_x".parse::<JobId>().is_err());
        assert!("itm_".parse::<ItemId>().is_err());
        assert!("itm_zz".parse::<ItemId>().is_err());
        let u = UploadId::generate();
        assert_eq!(u.as_str().parse::<UploadId>().ok(), Some(u));
        assert!("upl_../x".parse::<UploadId>().is_err());
    }
}
