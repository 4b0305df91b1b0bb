//! Policy: who is staff, and what Bedside does about an analysis. Pure: the shell gathers the
//! facts (roles, permissions, channel, time) and carries out what this decides.

use crate::config::StaffSettings;

/// A role as Discord or an export names it.
#[derive(Clone, Copy, Debug)]
pub struct RoleRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// Staff are members holding a configured staff role (by name or id, case-insensitive), or the
/// configured fallback permission.
pub fn is_staff<'a>(
    settings: &StaffSettings,
    roles: impl IntoIterator<Item = RoleRef<'a>>,
    permissions: &[&str],
) -> bool {
    let by_role = roles.into_iter().any(|r| settings.roles.iter().any(|s| s == r.id || s.eq_ignore_ascii_case(r.name)));
    let by_permission = settings
        .fallback_permission
        .as_deref()
        .is_some_and(|p| permissions.iter().any(|have| have.eq_ignore_ascii_case(p)));
    by_role || by_permission
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> StaffSettings {
        StaffSettings {
            roles: vec!["staff".into(), "1100".into()],
            fallback_permission: Some("manage_messages".into()),
        }
    }

    #[test]
    fn staff_by_role_name_id_or_permission() {
        let s = settings();
        assert!(is_staff(&s, [RoleRef { id: "9", name: "STAFF" }], &[]));
        assert!(is_staff(&s, [RoleRef { id: "1100", name: "Clinicians" }], &[]));
        assert!(is_staff(&s, [], &["MANAGE_MESSAGES"]));
        assert!(!is_staff(&s, [RoleRef { id: "9", name: "Patient" }], &["send_messages"]));
        assert!(!is_staff(&s, [RoleRef { id: "9", name: "Staffing fans" }], &[]));
    }
}
