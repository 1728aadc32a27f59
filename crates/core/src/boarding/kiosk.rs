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

impl KioskView {
    fn new(pass: bool, zh: &str, en: &str) -> Self {
        KioskView { pass, zh: zh.to_string(), en: en.to_string() }
    }
}

/// The kiosk message for a recorded decision.
pub fn view(decision: &Decision) -> KioskView {
    let gate = decision.gate.as_deref().unwrap_or("?");
    match decision.outcome {
        Outcome::Boarded | Outcome::ManualApproved => KioskView::new(true, "请通行", "Please board"),
        Outcome::AlreadyBoarded => KioskView::new(false, "该票已检票，请联系工作人员", "Ticket already used: please see staff"),
        Outcome::WrongBus => {
            KioskView { pass: false, zh: format!("请前往 {gate} 检票口"), en: format!("Wrong bus: please go to gate {gate}") }
        }
        Outcome::NotYetBoarding => match decision.departure.and_then(local_time) {
            Some(at) => KioskView {
                pass: false,
                zh: format!("该车次 {at} 发车，尚未开始检票，请稍候"),
                en: format!("Your bus leaves at {at}; boarding has not opened yet, please wait"),
            },
            None => KioskView::new(false, "该车次尚未开始检票，请稍候", "Boarding for your bus has not opened yet: please wait"),
        },
        Outcome::NotOnManifest => {
            KioskView::new(false, "未找到您的车票，请扫码或联系工作人员", "Ticket not found: scan your e-ticket or see staff")
        }
        Outcome::TicketInvalid => KioskView::new(false, "车票无效，请联系工作人员", "Ticket not valid: please see staff"),
        Outcome::ManualRefused => KioskView::new(false, "未通过人工核验，请联系工作人员", "Not approved: please see staff"),
        // A person will check, without accusing anyone.
        Outcome::SpoofSuspected | Outcome::ManualPending => {
            KioskView::new(false, "请联系工作人员人工核验", "Please see staff for a manual check")
        }
    }
}

/// `HH:MM` of unix time `at` in the kiosk machine's time zone (the station's).
fn local_time(at: i64) -> Option<String> {
    let zoned = jiff::Timestamp::from_second(at).ok()?.to_zoned_datetime(jiff::tz::TimeZone::system());
    Some(zoned.strftime("%H:%M").to_string())
}
