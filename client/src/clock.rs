//! The local wall-clock time for `HH:MM` stamps. Only the user interfaces read it; the session
//! and the renderer take the time as a parameter.

/// The local time as `HH:MM` (the system time zone, or UTC if it cannot be determined).
pub fn now_hh_mm() -> String {
    jiff::ZonedDateTime::now().strftime("%H:%M").to_string()
}
