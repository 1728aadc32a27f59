//! The station service's store under trouble, against a real `boardcheck serve`: `/healthz`
//! says when the database takes no writes, and the service recovers once it is fixed.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::station::TestStation;

fn healthz(station: &TestStation) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut r = agent.get(&format!("{}/healthz", station.url)).call().expect("answers");
    (r.status().as_u16(), r.body_mut().read_to_string().expect("text"))
}

#[test]
fn healthz_reports_a_read_only_database_and_recovers_without_a_restart() {
    let station = TestStation::start();
    assert_eq!(healthz(&station), (200, "ok".to_string()));
    let db = station.db();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let (status, why) = healthz(&station);
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("read-only") && !why.contains(&db.display().to_string()), "{why}");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_eq!(healthz(&station), (200, "ok".to_string()));
}
