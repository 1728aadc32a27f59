//! How enums are stored: each as its snake_case word, the same word serde writes.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;

use super::{ManualState, PassengerStatus};
use crate::boarding::{Outcome, StaffReason};
use crate::manifest::{DocumentType, Method, Role, TicketState};

/// Stores an enum as its snake_case word; an unknown word read back is an error that says so.
macro_rules! sql_text {
    ($ty:ty, $what:literal: $($variant:path => $text:literal),+ $(,)?) => {
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(match self { $($variant => $text),+ }))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                match value.as_str()? {
                    $($text => Ok($variant),)+
                    other => Err(FromSqlError::Other(format!("unknown {} '{other}' in the database (written by a newer boardcheck?)", $what).into())),
                }
            }
        }
    };
}

sql_text!(DocumentType, "document type":
    DocumentType::IdCard => "id_card",
    DocumentType::Passport => "passport",
    DocumentType::TravelPermit => "travel_permit",
    DocumentType::Other => "other",
);
sql_text!(TicketState, "ticket state":
    TicketState::Valid => "valid",
    TicketState::Boarded => "boarded",
    TicketState::Refunded => "refunded",
);
sql_text!(Method, "boarding method":
    Method::Face => "face",
    Method::TicketFace => "ticket_face",
    Method::Manual => "manual",
);
sql_text!(Role, "staff role":
    Role::Staff => "staff",
    Role::Supervisor => "supervisor",
);
sql_text!(PassengerStatus, "passenger status":
    PassengerStatus::Boarded => "boarded",
    PassengerStatus::NotYet => "not_yet",
    PassengerStatus::Manual => "manual",
    PassengerStatus::Refunded => "refunded",
);
/// Stores an enum that has its word already (`$word`, over every value in `$ty::ALL`) as
/// that word.
macro_rules! sql_word {
    ($ty:ty, $what:literal, $word:ident) => {
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.$word()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let word = value.as_str()?;
                <$ty>::ALL.into_iter().find(|v| v.$word() == word).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} '{word}' in the database (written by a newer boardcheck?)", $what).into())
                })
            }
        }
    };
}

sql_word!(Outcome, "outcome", word);
sql_word!(StaffReason, "staff reason", code);

sql_text!(ManualState, "manual check state":
    ManualState::Pending => "pending",
    ManualState::Approved => "approved",
    ManualState::Refused => "refused",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_words_match_serde() {
        for (value, word) in [(Method::Face, "face"), (Method::TicketFace, "ticket_face"), (Method::Manual, "manual")] {
            assert_eq!(serde_json::to_string(&value).expect("serialises"), format!("\"{word}\""));
            assert_eq!(Method::column_result(ValueRef::Text(word.as_bytes())).expect("parses"), value);
        }
        for value in [DocumentType::IdCard, DocumentType::Passport, DocumentType::TravelPermit, DocumentType::Other] {
            let word = serde_json::to_string(&value).expect("serialises");
            let ToSqlOutput::Borrowed(ValueRef::Text(text)) = value.to_sql().expect("to sql") else { panic!("text") };
            assert_eq!(format!("\"{}\"", String::from_utf8_lossy(text)), word);
        }
        for (value, word) in [(Role::Staff, "staff"), (Role::Supervisor, "supervisor")] {
            assert_eq!(serde_json::to_string(&value).expect("serialises"), format!("\"{word}\""));
            assert_eq!(Role::column_result(ValueRef::Text(word.as_bytes())).expect("parses"), value);
        }
        let status = PassengerStatus::column_result(ValueRef::Text(b"not_yet")).expect("parses");
        assert_eq!(serde_json::to_string(&status).expect("serialises"), "\"not_yet\"");
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::column_result(ValueRef::Text(outcome.word().as_bytes())).expect("parses"), outcome);
        }
        let err = TicketState::column_result(ValueRef::Text(b"lost")).expect_err("unknown").to_string();
        assert!(err.contains("ticket state 'lost'"), "{err}");
    }
}
