//! Times are [`Millis`] inside Docket and RFC 3339 on the wire: these serde adapters do the
//! conversion on the resources themselves, so there is no second copy of each resource.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

use crate::Millis;

pub fn rfc3339(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse<E: serde::de::Error>(s: &str) -> Result<Millis, E> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(E::custom)
}

pub mod as_rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        parse(&String::deserialize(d)?)
    }
}

pub mod as_rfc3339_opt {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_some(&rfc3339(*ms)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse(&s))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_and_parses() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::parse::<serde_json::Error>("1970-01-01T00:00:01.500Z").unwrap(),
            1500
        );
    }
}
