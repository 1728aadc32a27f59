//! What the passenger sees at the lane: pass, or see staff, with a short reason in Chinese
//! and English. Never a similarity score (design brief §1).

use serde::Serialize;

use super::{Decision, Outcome};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskView {
    pub pass: bool,
    pub zh: String,
    pub en: String,
}

/// The kiosk message for a recorded decision: pass exactly when the outcome lets the
/// passenger through ([`Outcome::passes`]).
pub fn view(decision: &Decision) -> KioskView {
    let gate = decision.gate.as_deref().unwrap_or("?");
    let fixed = |zh: &str, en: &str| (zh.to_string(), en.to_string());
    let (zh, en) = match decision.outcome {
        Outcome::Boarded | Outcome::ManualApproved => fixed("请通行", "Please board"),
        Outcome::AlreadyBoarded => fixed("该票已检票，请联系工作人员", "Ticket already used: please see staff"),
        Outcome::WrongBus => (format!("请前往 {gate} 检票口"), format!("Wrong bus: please go to gate {gate}")),
        Outcome::NotYetBoarding => match decision.departure.and_then(local_time) {
            Some(at) => (
                format!("该车次 {at} 发车，尚未开始检票，请稍候"),
                format!("Your bus leaves at {at}; boarding has not opened yet, please wait"),
            ),
            None => fixed("该车次尚未开始检票，请稍候", "Boarding for your bus has not opened yet: please wait"),
        },
        Outcome::NotOnManifest => fixed("未找到您的车票，请扫码或联系工作人员", "Ticket not found: scan your e-ticket or see staff"),
        Outcome::TicketInvalid => fixed("车票无效，请联系工作人员", "Ticket not valid: please see staff"),
        Outcome::ManualRefused => fixed("未通过人工核验，请联系工作人员", "Not approved: please see staff"),
        // A person will check, without accusing anyone.
        Outcome::SpoofSuspected | Outcome::ManualPending => fixed("请联系工作人员人工核验", "Please see staff for a manual check"),
    };
    KioskView { pass: decision.outcome.passes(), zh, en }
}

/// A staff approval's message, addressed to the passenger at the desk by their seat: the one
/// in front of the camera meanwhile may be someone else, who must not take it as theirs.
pub fn addressed_to_seat(view: KioskView, seat: &str) -> KioskView {
    if !view.pass {
        return view;
    }
    KioskView { pass: true, zh: format!("{seat} 号座位乘客请通行"), en: format!("Seat {seat}: please board") }
}

/// `HH:MM` of unix time `at` in the kiosk machine's time zone (the station's).
fn local_time(at: i64) -> Option<String> {
    let zoned = jiff::Timestamp::from_second(at).ok()?.to_zoned_datetime(jiff::tz::TimeZone::system());
    Some(zoned.strftime("%H:%M").to_string())
}
