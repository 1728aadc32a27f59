//! The one list of what can happen to a passenger at a lane (design brief §1), as a type: the
//! rules produce it, the store records it, the kiosk, the console, the reports and the metrics
//! read it. Its serde word is the word stored in the event log and sent on the wire.

use serde::{Deserialize, Serialize};

/// What was decided for one passenger.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The ticket boarded now (face, ticket + face).
    Boarded,
    /// The ticket had boarded before: never twice.
    AlreadyBoarded,
    /// The ticket's trip boards at another gate (the decision names it).
    WrongBus,
    /// The ticket's trip boards at this lane, but its boarding has not opened yet.
    NotYetBoarding,
    /// No ticket on the manifests boarding now matches.
    NotOnManifest,
    /// The ticket cannot board: a bad token, refunded, its trip departed.
    TicketInvalid,
    /// The anti-spoofing model flagged the face; a manual check is queued.
    SpoofSuspected,
    /// Staff must check the passenger; a manual check is queued.
    ManualPending,
    /// Staff approved a manual check and its ticket boarded.
    ManualApproved,
    /// Staff refused a manual check.
    ManualRefused,
}

impl Outcome {
    /// Every outcome, in the order above.
    pub const ALL: [Outcome; 10] = [
        Outcome::Boarded,
        Outcome::AlreadyBoarded,
        Outcome::WrongBus,
        Outcome::NotYetBoarding,
        Outcome::NotOnManifest,
        Outcome::TicketInvalid,
        Outcome::SpoofSuspected,
        Outcome::ManualPending,
        Outcome::ManualApproved,
        Outcome::ManualRefused,
    ];

    /// The snake_case word, as serde writes it and the event log stores it.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Boarded => "boarded",
            Outcome::AlreadyBoarded => "already_boarded",
            Outcome::WrongBus => "wrong_bus",
            Outcome::NotYetBoarding => "not_yet_boarding",
            Outcome::NotOnManifest => "not_on_manifest",
            Outcome::TicketInvalid => "ticket_invalid",
            Outcome::SpoofSuspected => "spoof_suspected",
            Outcome::ManualPending => "manual_pending",
            Outcome::ManualApproved => "manual_approved",
            Outcome::ManualRefused => "manual_refused",
        }
    }

    /// Whether the passenger passes the gate.
    pub fn passes(self) -> bool {
        matches!(self, Outcome::Boarded | Outcome::ManualApproved)
    }

    /// A staff member's resolution of a manual check, rather than a lane's decision.
    pub fn is_resolution(self) -> bool {
        matches!(self, Outcome::ManualApproved | Outcome::ManualRefused)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_serde_words() {
        for outcome in Outcome::ALL {
            assert_eq!(serde_json::to_string(&outcome).expect("serialises"), format!("\"{}\"", outcome.word()));
            let back: Outcome = serde_json::from_str(&format!("\"{outcome}\"")).expect("parses");
            assert_eq!(back, outcome);
        }
    }
}
