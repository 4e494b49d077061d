//! A job's priority: how large a share of the worker pool it gets next to other running jobs.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// `low`, `normal` (the default) or `high`: running jobs share the workers 1 : 2 : 4. A low job
/// is slowed, never starved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Normal, Priority::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    /// The job's weight in fair sharing.
    pub fn weight(self) -> i64 {
        match self {
            Priority::Low => 1,
            Priority::Normal => 2,
            Priority::High => 4,
        }
    }

    /// How far one claimed item moves the job back in the claim order (stride scheduling):
    /// inversely proportional to the weight, so over time shares follow the weights.
    pub fn stride(self) -> i64 {
        4 / self.weight()
    }
}

impl std::str::FromStr for Priority {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| CoreError::Unknown {
                what: "priority",
                value: s.to_string(),
            })
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_follow_weights_one_two_four() {
        for p in Priority::ALL {
            assert_eq!(p.weight() * p.stride(), 4, "{p}");
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), p);
        }
        assert!("urgent".parse::<Priority>().is_err());
        assert_eq!(Priority::default(), Priority::Normal);
    }
}
