use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

macro_rules! string_enum {
    ($name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(CoreError::Unknown { what: $what, value: other.to_string() }),
                }
            }
        }
    };
}

string_enum!(JobState, "job state", {
    Queued => "queued",
    Running => "running",
    Paused => "paused",
    Completed => "completed",
    Failed => "failed",
    Cancelled => "cancelled",
});

string_enum!(ItemState, "item state", {
    Pending => "pending",
    Running => "running",
    Retrying => "retrying",
    Succeeded => "succeeded",
    Failed => "failed",
    Cancelled => "cancelled",
});

string_enum!(PauseReason, "pause reason", {
    User => "user",
    ConsecutiveFailures => "consecutive_failures",
    RemoteUnavailable => "remote_unavailable",
});

string_enum!(JobKind, "job kind", {
    Process => "process",
    Reindex => "reindex",
    Export => "export",
    Publish => "publish",
    Noop => "noop",
});

impl JobState {
    /// A finished job never changes state again.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        )
    }

    /// The job state machine of SPEC §3. The schema enforces the same table with a trigger.
    pub fn can_transition_to(self, to: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, to),
            (Queued, Running | Paused | Cancelled | Failed)
                | (Running, Paused | Completed | Failed | Cancelled)
                | (Paused, Running | Cancelled | Failed)
        )
    }

    pub fn check_transition(self, to: JobState) -> Result<(), CoreError> {
        if self.can_transition_to(to) {
            Ok(())
        } else {
            Err(CoreError::IllegalJobTransition { from: self, to })
        }
    }
}

impl ItemState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ItemState::Succeeded | ItemState::Failed | ItemState::Cancelled
        )
    }

    /// The item state machine of SPEC §3. `failed → pending` is the one way back: resuming a job
    /// that paused on consecutive failures puts those failed items back in line.
    pub fn can_transition_to(self, to: ItemState) -> bool {
        use ItemState::*;
        matches!(
            (self, to),
            (Pending, Running | Cancelled)
                | (Running, Succeeded | Failed | Cancelled | Retrying | Pending)
                | (Retrying, Running | Cancelled)
                | (Failed, Pending)
        )
    }

    pub fn check_transition(self, to: ItemState) -> Result<(), CoreError> {
        if self.can_transition_to(to) {
            Ok(())
        } else {
            Err(CoreError::IllegalItemTransition { from: self, to })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in JobState::ALL {
            assert_eq!(s.as_str().parse::<JobState>(), Ok(*s));
        }
        for s in ItemState::ALL {
            assert_eq!(s.as_str().parse::<ItemState>(), Ok(*s));
        }
        assert!("nope".parse::<JobState>().is_err());
    }

    #[test]
    fn finished_jobs_never_move() {
        for from in JobState::ALL.iter().filter(|s| s.is_finished()) {
            for to in JobState::ALL {
                assert!(!from.can_transition_to(*to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn succeeded_and_cancelled_items_never_move() {
        for from in [ItemState::Succeeded, ItemState::Cancelled] {
            for to in ItemState::ALL {
                assert!(!from.can_transition_to(*to));
            }
        }
    }

    #[test]
    fn no_self_transitions() {
        for s in JobState::ALL {
            assert!(!s.can_transition_to(*s));
        }
        for s in ItemState::ALL {
            assert!(!s.can_transition_to(*s));
        }
    }
}
