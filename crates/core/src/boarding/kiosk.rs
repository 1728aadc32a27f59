//! What the passenger sees at the lane: pass, or see staff, with a short reason in Chinese
//! and English. Never a similarity score (design brief §1).

use serde::Serialize;

use super::Decision;

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
    match decision.outcome.as_str() {
        "boarded" | "manual_approved" => KioskView::new(true, "请通行", "Please board"),
        "already_boarded" => KioskView::new(false, "该票已检票，请联系工作人员", "Ticket already used: please see staff"),
        "wrong_bus" => {
            KioskView { pass: false, zh: format!("请前往 {gate} 检票口"), en: format!("Wrong bus: please go to gate {gate}") }
        }
        "not_on_manifest" => {
            KioskView::new(false, "未找到您的车票，请扫码或联系工作人员", "Ticket not found: scan your e-ticket or see staff")
        }
        "ticket_invalid" => KioskView::new(false, "车票无效，请联系工作人员", "Ticket not valid: please see staff"),
        "manual_refused" => KioskView::new(false, "未通过人工核验，请联系工作人员", "Not approved: please see staff"),
        // spoof_suspected and manual_pending: a person will check, without accusing anyone.
        _ => KioskView::new(false, "请联系工作人员人工核验", "Please see staff for a manual check"),
    }
}
