//! Why a member of staff approved or refused a manual check: a code from a fixed list, so the
//! event log (kept for years) records the reason without anyone's free text in it. Staff may
//! add a note in their own words; it is kept with the check and purged with the trip.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest note staff may add (characters).
pub const MAX_NOTE_CHARS: usize = 500;

/// Why staff resolved a manual check as they did.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffReason {
    /// Approve: the ID document was checked by hand against the passenger and the ticket.
    IdDocumentChecked,
    /// Approve: a child, with the guardian's ID checked.
    ChildWithGuardian,
    /// Approve: a passport or travel permit (no chip photo here) checked by hand.
    ForeignDocument,
    /// Approve: the passenger declined the face check; the ID was checked by hand.
    FaceCheckDeclined,
    /// Refuse: the document does not match the passenger or the ticket.
    DocumentMismatch,
    /// Refuse: the passenger has no valid identity document.
    NoDocument,
    /// Refuse: the ticket is not for this bus, or not valid.
    TicketNotValid,
    /// Refuse: the passenger left the lane before the check.
    PassengerLeft,
    /// Refuse: a suspected impostor or a photo, screen or mask at the camera.
    SuspectedFraud,
    /// Either way, for what the list does not cover: a note is required.
    Other,
}

impl StaffReason {
    /// Every reason, in the order above.
    pub const ALL: [StaffReason; 10] = [
        StaffReason::IdDocumentChecked,
        StaffReason::ChildWithGuardian,
        StaffReason::ForeignDocument,
        StaffReason::FaceCheckDeclined,
        StaffReason::DocumentMismatch,
        StaffReason::NoDocument,
        StaffReason::TicketNotValid,
        StaffReason::PassengerLeft,
        StaffReason::SuspectedFraud,
        StaffReason::Other,
    ];

    /// The snake_case code, as serde writes it and the event log stores it.
    pub fn code(self) -> &'static str {
        match self {
            StaffReason::IdDocumentChecked => "id_document_checked",
            StaffReason::ChildWithGuardian => "child_with_guardian",
            StaffReason::ForeignDocument => "foreign_document",
            StaffReason::FaceCheckDeclined => "face_check_declined",
            StaffReason::DocumentMismatch => "document_mismatch",
            StaffReason::NoDocument => "no_document",
            StaffReason::TicketNotValid => "ticket_not_valid",
            StaffReason::PassengerLeft => "passenger_left",
            StaffReason::SuspectedFraud => "suspected_fraud",
            StaffReason::Other => "other",
        }
    }

    /// Whether this reason can explain an approval (`approve`) or a refusal.
    pub fn explains(self, approve: bool) -> bool {
        match self {
            StaffReason::IdDocumentChecked
            | StaffReason::ChildWithGuardian
            | StaffReason::ForeignDocument
            | StaffReason::FaceCheckDeclined => approve,
            StaffReason::DocumentMismatch
            | StaffReason::NoDocument
            | StaffReason::TicketNotValid
            | StaffReason::PassengerLeft
            | StaffReason::SuspectedFraud => !approve,
            StaffReason::Other => true,
        }
    }

    /// Checks `reason` with staff's `note` for an approval (`approve`) or a refusal, and returns
    /// the note as it is kept: trimmed, `None` when blank.
    pub fn check_note(self, approve: bool, note: Option<&str>) -> Result<Option<String>> {
        if !self.explains(approve) {
            let what = if approve { "an approval" } else { "a refusal" };
            return Err(Error::invalid(format!("reason '{}' does not explain {what}", self.code())));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let Some(note) = note {
            if note.chars().count() > MAX_NOTE_CHARS {
                return Err(Error::invalid(format!("the note is longer than {MAX_NOTE_CHARS} characters")));
            }
            if note.chars().any(char::is_control) {
                return Err(Error::invalid("the note holds control characters (line breaks, tabs): one line of plain text"));
            }
        } else if self == StaffReason::Other {
            return Err(Error::invalid("reason 'other' needs a note saying why"));
        }
        Ok(note.map(str::to_string))
    }
}

impl std::fmt::Display for StaffReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_serde_words_and_each_side_has_its_reasons() {
        for reason in StaffReason::ALL {
            assert_eq!(serde_json::to_string(&reason).expect("serialises"), format!("\"{}\"", reason.code()));
        }
        assert!(StaffReason::ALL.iter().any(|r| r.explains(true) && *r != StaffReason::Other));
        assert!(StaffReason::ALL.iter().any(|r| r.explains(false) && *r != StaffReason::Other));
        assert!(serde_json::from_str::<StaffReason>("\"because I said so\"").is_err());
    }

    #[test]
    fn a_note_is_optional_trimmed_bounded_and_one_line() {
        let checked = StaffReason::IdDocumentChecked;
        assert_eq!(checked.check_note(true, None).expect("fine"), None);
        assert_eq!(checked.check_note(true, Some("  ")).expect("fine"), None);
        assert_eq!(checked.check_note(true, Some(" seen ")).expect("fine").as_deref(), Some("seen"));
        let wrong_side = checked.check_note(false, None).expect_err("refused").to_string();
        assert!(wrong_side.contains("id_document_checked") && wrong_side.contains("refusal"), "{wrong_side}");
        assert!(StaffReason::Other.check_note(false, Some("")).is_err());
        assert!(StaffReason::Other.check_note(false, Some("bus broke down")).is_ok());
        assert!(checked.check_note(true, Some(&"字".repeat(MAX_NOTE_CHARS + 1))).is_err());
        assert!(checked.check_note(true, Some(&"字".repeat(MAX_NOTE_CHARS))).is_ok());
        assert!(checked.check_note(true, Some("line\nforged")).is_err());
    }
}
