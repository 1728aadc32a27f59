// @ts-check
// Words shown to staff, and how times read. Codes from the API stay codes in data attributes;
// people read these. A table of codes the Rust types enumerate is typed by them
// (crates/api/bindings), so a code they gain or lose shows up here; reasons are plain strings
// there, so that table is not checked.

/** @typedef {import('../../../api/bindings/api').Method} Method */
/** @typedef {import('../../../api/bindings/api').Outcome} Outcome */
/** @typedef {import('../../../api/bindings/api').Role} Role */
/** @typedef {import('../../../api/bindings/api').CameraStatus} CameraStatus */
/** @typedef {import('../../../api/bindings/api').DocumentType} DocumentType */
/** @typedef {import('../../../api/bindings/api').PassengerStatus} PassengerStatus */
/** @typedef {import('../../../api/bindings/api').TripReportRow} TripReportRow */
/** @typedef {import('../../../api/bindings/api').MonthDay} MonthDay */
/** @typedef {import('../../../api/bindings/api').StaffReason} StaffReason */

/** @type {Record<Outcome, string>} */
export const OUTCOMES = {
  boarded: '已登车 Boarded',
  already_boarded: '重复检票 Already boarded',
  wrong_bus: '走错检票口 Wrong bus',
  not_yet_boarding: '尚未开始检票 Not boarding yet',
  not_on_manifest: '无此乘客 Not on manifest',
  ticket_invalid: '车票无效 Ticket invalid',
  spoof_suspected: '疑似假脸 Spoof suspected',
  manual_pending: '待人工核验 Sent to staff',
  manual_approved: '人工放行 Approved by staff',
  manual_refused: '人工拒绝 Refused by staff',
};

// Outcomes that let the passenger through (green); the rest need a person (amber).
/** @type {Set<Outcome>} */
export const PASSING = new Set(['boarded', 'manual_approved']);

/** @type {Record<Method, string>} */
export const METHODS = {
  face: '刷脸 Face',
  ticket_face: '票+人脸 Ticket + face',
  manual: '人工 Manual',
};

export const REASONS = {
  no_match: '名单中未找到此人 No match on the manifest',
  ambiguous: '相似乘客多于一人 Ambiguous: several look alike',
  child: '儿童票，需人工核验 Child ticket',
  no_template: '无证件照模板 No ID photo on file',
  face_mismatch: '人脸与车票不符 Face does not match the ticket',
  refused: '乘客未做人脸核验 Passenger declined the face check',
  spoof_suspected: '疑似照片或屏幕 Possible photo or screen',
  too_many_attempts: '尝试次数过多 Too many attempts',
  refunded: '已退票 Refunded',
  departed: '班次已发车 The bus has left',
  trip_mismatch: '车票与班次不符 Ticket does not match its trip',
  // The refusal a supervisor overrode, on an approval.
  wrong_bus: '越权：其他检票口 Override: another gate',
  not_yet_boarding: '越权：未到检票时间 Override: before boarding opened',
};

// Why staff approve or refuse, from the fixed list the log records (notes are extra).
/** @type {Record<StaffReason, string>} */
export const STAFF_REASONS = {
  id_document_checked: '已人工核对证件 ID document checked by hand',
  child_with_guardian: '儿童，已核对监护人证件 Child, guardian\'s ID checked',
  foreign_document: '护照/通行证已人工核对 Passport or permit checked by hand',
  face_check_declined: '乘客拒绝刷脸，已核对证件 Declined the face check, ID checked',
  document_mismatch: '证件与乘客或车票不符 Document does not match',
  no_document: '无有效证件 No valid document',
  ticket_not_valid: '车票无效或非本班次 Ticket not valid for this bus',
  passenger_left: '乘客已离开 Passenger left',
  suspected_fraud: '疑似冒用或假脸 Suspected impostor or spoof',
  other: '其他（请填写备注）Other (add a note)',
};

// The reasons that explain an approval; `other` explains either; the rest a refusal.
/** @type {Set<StaffReason>} */
export const APPROVE_REASONS = new Set(['id_document_checked', 'child_with_guardian', 'foreign_document', 'face_check_declined', 'other']);
/** @type {Set<StaffReason>} */
export const REFUSE_REASONS = new Set(['document_mismatch', 'no_document', 'ticket_not_valid', 'passenger_left', 'suspected_fraud', 'other']);

/** @type {Record<PassengerStatus, string>} */
export const STATUSES = {
  boarded: '已登车 Boarded',
  not_yet: '未登车 Not yet',
  manual: '人工核验中 Manual check',
  refunded: '已退票 Refunded',
};

/** @type {Record<CameraStatus, string>} */
export const CAMERA = {
  up: '摄像头正常 Camera up',
  down: '摄像头故障 Camera down',
  unknown: '状态未知 Unknown',
};

/** @type {Record<Role, string>} */
export const ROLES = {
  staff: '站务员 Staff',
  supervisor: '值班主管 Supervisor',
};

/** @type {Record<DocumentType, string>} */
export const DOCUMENTS = {
  id_card: '身份证 ID card',
  passport: '护照 Passport',
  travel_permit: '通行证 Travel permit',
  other: '其他证件 Other',
};

/**
 * Report column headings: one for every field of a report's rows, and no other.
 * @type {Record<keyof TripReportRow | keyof MonthDay, string>}
 */
export const REPORT_COLUMNS = {
  trip: '班次 Trip',
  route: '线路 Route',
  departure: '发车 Departure',
  gate: '检票口 Gate',
  date: '日期 Date',
  trips: '班次数 Trips',
  passengers: '乘客 Passengers',
  boarded_face: '刷脸 Face',
  boarded_ticket_face: '票+人脸 Ticket+face',
  boarded_manual: '人工 Manual',
  not_boarded: '未登车 Not boarded',
  refunded: '退票 Refunded',
  refusals: '拒绝 Refusals',
  spoof_suspected: '疑似假脸 Spoof suspected',
  fallback_rate: '人工比例 Fallback rate',
  face_rate: '刷脸比例 Face rate',
};

/**
 * A label from a word table, or the code itself when the table does not know it.
 * @param {Readonly<Record<string, string>>} table
 * @param {string | null | undefined} code
 */
export function words(table, code) {
  if (code === null || code === undefined || code === '') return '—';
  return table[code] || String(code);
}

function pad2(/** @type {number} */ n) {
  return String(n).padStart(2, '0');
}

/**
 * HH:MM:SS in the browser's (the station's) local time, from unix seconds.
 * @param {number | null | undefined} unix
 */
export function clock(unix) {
  if (typeof unix !== 'number') return '—';
  const d = new Date(unix * 1000);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/**
 * A departure (unix seconds): "HH:MM" today, "MM-DD HH:MM" otherwise.
 * @param {number} value
 */
export function departure(value) {
  const d = new Date(value * 1000);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return hm;
  return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${hm}`;
}

/**
 * "2 min 05 s" since unix seconds.
 * @param {number} unix
 */
export function since(unix) {
  const s = Math.max(0, Math.floor(Date.now() / 1000 - unix));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad2(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad2(Math.floor((s % 3600) / 60))} min`;
}

/** YYYY-MM-DD, local. */
export function localDate(d = new Date()) {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}
