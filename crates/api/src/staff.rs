//! The staff session: `POST /api/login` [`LoginRequest`] → [`StaffSession`] (and the session
//! cookie), `GET /api/session` → [`StaffSession`], `POST /api/logout` → 204.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use boardcheck_core::manifest::Role;

/// `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LoginRequest {
    pub staff: String,
    pub password: String,
}

/// Who is logged in, and the CSRF token every state change sends back in `X-CSRF-Token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StaffSession {
    pub staff: String,
    pub role: Role,
    pub csrf: String,
}
