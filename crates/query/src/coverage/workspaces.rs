//! Coverage per workspace: which billed workspace a metered call belongs to, and the
//! per-workspace rows of a provider's report.
//!
//! A call belongs to the billed workspace whose provider id its `workspace` field carries (an
//! OpenAI `proj_…`, an Anthropic `wrkspc_…`, a GCP project, an AWS account: ids survive
//! renames), else the one whose name it carries (the provider's name or the name shown here,
//! when exactly one workspace has it), else — when it names no workspace — its API key's
//! workspace. A workspace text no billed workspace has is kept apart, "not on the bill".

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use spendlens_store::{ApiKeyRow, ConnectionId, WorkspaceId, WorkspaceRow};

use super::math::{CauseRow, JoinKey, Ratio};

/// Join keys of workspace texts no billed workspace has (billed ones are decimal ids).
const UNBILLED: &str = "unbilled:";

/// One workspace's coverage.
#[derive(Clone, Debug, Serialize)]
pub struct WorkspaceCoverage {
    /// spendlens's id for the billed workspace; `null` for calls naming no billed workspace
    /// and spend no workspace carries.
    pub workspace_id: Option<WorkspaceId>,
    /// The provider's id for it (`proj_…`, `wrkspc_…`, a project or account id).
    pub provider_workspace_id: Option<String>,
    /// The name shown (the display name of a billed workspace, as renamed here; the events'
    /// text otherwise).
    pub workspace_name: String,
    /// The workspace is on the bill (`false`: only metered traffic names it).
    pub billed: bool,
    #[serde(flatten)]
    pub ratio: Ratio,
}

/// Which billed workspace a metered workspace text names: one whose provider id equals it,
/// else the only one whose provider name or display name equals it (case and surrounding
/// spaces aside). `None` when none or several match.
pub fn match_workspace(text: &str, workspaces: &[&WorkspaceRow]) -> Option<WorkspaceId> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(w) = workspaces.iter().find(|w| w.provider_id == text) {
        return Some(w.id);
    }
    let named = |name: &str| name.trim().eq_ignore_ascii_case(text);
    let mut found = workspaces
        .iter()
        .filter(|w| named(&w.provider_name) || named(&w.display_name))
        .map(|w| w.id);
    match (found.next(), found.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// A workspace name as [`match_workspace`] compares it: trimmed, ASCII letters in one case.
fn name_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// One provider's billed workspaces and keys, indexed for the join: each metered row is a few
/// hash lookups (a pass over every workspace and key per row was quadratic at scale).
pub(super) struct Workspaces<'a> {
    /// Id → row.
    by_id: HashMap<i64, &'a WorkspaceRow>,
    /// Provider id → the first workspace (in list order) with it.
    by_provider_id: HashMap<&'a str, WorkspaceId>,
    /// [`name_key`] of a provider name or display name → the workspaces going by it.
    by_name: HashMap<String, Vec<WorkspaceId>>,
    /// A billed key's provider id → its workspace (the first key in list order with that id).
    key_workspace: HashMap<&'a str, Option<WorkspaceId>>,
}

impl<'a> Workspaces<'a> {
    pub(super) fn new(
        workspaces: &'a [WorkspaceRow],
        keys: &'a [ApiKeyRow],
        connections: &[ConnectionId],
    ) -> Workspaces<'a> {
        let mut places = Workspaces {
            by_id: HashMap::new(),
            by_provider_id: HashMap::new(),
            by_name: HashMap::new(),
            key_workspace: HashMap::new(),
        };
        for w in workspaces
            .iter()
            .filter(|w| connections.contains(&w.connection_id))
        {
            places.by_id.entry(w.id.0).or_insert(w);
            places
                .by_provider_id
                .entry(w.provider_id.as_str())
                .or_insert(w.id);
            let (provider, shown) = (name_key(&w.provider_name), name_key(&w.display_name));
            if provider != shown {
                places.by_name.entry(shown).or_default().push(w.id);
            }
            places.by_name.entry(provider).or_default().push(w.id);
        }
        for k in keys
            .iter()
            .filter(|k| connections.contains(&k.connection_id))
        {
            places
                .key_workspace
                .entry(k.provider_id.as_str())
                .or_insert(k.workspace_id);
        }
        places
    }

    /// [`match_workspace`] over this provider's workspaces, from the indexes.
    fn find(&self, text: &str) -> Option<WorkspaceId> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Some(id) = self.by_provider_id.get(text) {
            return Some(*id);
        }
        match self.by_name.get(&name_key(text)).map(Vec::as_slice) {
            Some([one]) => Some(*one),
            _ => None,
        }
    }

    /// A billed workspace as the join sees it.
    pub(super) fn join_key(id: WorkspaceId) -> String {
        id.0.to_string()
    }

    /// The join key of metered calls with workspace text `text` (empty: none) and billed key
    /// `key` (the matched key's provider id), and whether it is a billed workspace.
    pub(super) fn of_metered(&self, text: &str, key: Option<&str>) -> (JoinKey, bool) {
        if !text.trim().is_empty() {
            return match self.find(text) {
                Some(id) => (Some(Self::join_key(id)), true),
                None => (Some(format!("{UNBILLED}{}", text.trim())), false),
            };
        }
        let workspace = key.and_then(|key| self.key_workspace.get(key).copied().flatten());
        match workspace {
            Some(id) => (Some(Self::join_key(id)), true),
            None => (None, false),
        }
    }

    fn billed(&self, key: &str) -> Option<&'a WorkspaceRow> {
        let id: i64 = key.parse().ok()?;
        self.by_id.get(&id).copied()
    }

    /// The per-workspace rows, largest billed cost first.
    pub(super) fn rows(&self, per_workspace: &BTreeMap<JoinKey, Ratio>) -> Vec<WorkspaceCoverage> {
        let mut out: Vec<WorkspaceCoverage> = per_workspace
            .iter()
            .map(|(key, ratio)| {
                let ratio = ratio.clone();
                match key {
                    None => WorkspaceCoverage {
                        workspace_id: None,
                        provider_workspace_id: None,
                        workspace_name: "(no workspace)".to_owned(),
                        billed: !ratio.billed_cost.is_zero() || ratio.billed_tokens > 0,
                        ratio,
                    },
                    Some(key) => match self.billed(key) {
                        Some(w) => WorkspaceCoverage {
                            workspace_id: Some(w.id),
                            provider_workspace_id: Some(w.provider_id.clone()),
                            workspace_name: w.display_name.clone(),
                            billed: true,
                            ratio,
                        },
                        None => WorkspaceCoverage {
                            workspace_id: None,
                            provider_workspace_id: None,
                            workspace_name: key.strip_prefix(UNBILLED).unwrap_or(key).to_owned(),
                            billed: false,
                            ratio,
                        },
                    },
                }
            })
            .collect();
        out.sort_by_key(|w| std::cmp::Reverse(w.ratio.billed_cost));
        out
    }

    /// Names a cause row of a provider joined by workspace: the workspace's provider id and
    /// display name, or the events' text "not on the bill".
    pub(super) fn label_row(&self, row: &mut CauseRow, unmetered: bool) {
        let Some(key) = row.key.clone() else {
            if unmetered {
                row.key_name = Some("(spend no workspace carries)".to_owned());
            }
            return;
        };
        match self.billed(&key) {
            Some(w) => {
                row.key = Some(w.provider_id.clone());
                row.key_name = Some(format!("workspace {}", w.display_name));
            }
            None => {
                let text = key.strip_prefix(UNBILLED).unwrap_or(&key).to_owned();
                row.key_name = Some(format!("workspace {text} (not on the bill)"));
                row.key = Some(text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use spendlens_domain::ProviderKind;
    use time::OffsetDateTime;

    use super::*;

    fn workspace(id: i64, provider_id: &str, provider_name: &str, display: &str) -> WorkspaceRow {
        WorkspaceRow {
            id: WorkspaceId(id),
            connection_id: ConnectionId(1),
            provider: ProviderKind::OpenAi,
            provider_id: provider_id.to_owned(),
            provider_name: provider_name.to_owned(),
            display_name: display.to_owned(),
            renamed: display != provider_name,
            archived: false,
            created_at: None,
            first_seen_at: OffsetDateTime::UNIX_EPOCH,
            last_seen_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_workspace_matches_by_id_first_then_by_a_name_only_one_has() {
        let rows = [
            workspace(1, "proj_a", "Search", "Search (renamed)"),
            workspace(2, "proj_b", "Billing", "Billing"),
            workspace(3, "proj_c", "Shared", "Shared"),
            workspace(4, "proj_d", "Other", "shared"),
        ];
        let refs: Vec<&WorkspaceRow> = rows.iter().collect();
        // By id, whatever the names are now.
        assert_eq!(match_workspace("proj_a", &refs), Some(WorkspaceId(1)));
        assert_eq!(match_workspace(" proj_b ", &refs), Some(WorkspaceId(2)));
        // By the provider's name or the name shown here.
        assert_eq!(match_workspace("search", &refs), Some(WorkspaceId(1)));
        assert_eq!(
            match_workspace("Search (renamed)", &refs),
            Some(WorkspaceId(1))
        );
        // Two workspaces go by "shared": neither is chosen.
        assert_eq!(match_workspace("Shared", &refs), None);
        assert_eq!(match_workspace("nowhere", &refs), None);
        assert_eq!(match_workspace("  ", &refs), None);
    }

    proptest::proptest! {
        #[test]
        fn the_indexes_decide_as_the_reference_pass(
            names in proptest::collection::vec(
                ("[ab]{0,2}", "[aAbB ]{0,3}", "[aAbB ]{0,3}"),
                0..6,
            ),
            texts in proptest::collection::vec("[aAbB ]{0,3}", 1..6),
        ) {
            let rows: Vec<WorkspaceRow> = names
                .iter()
                .enumerate()
                .map(|(i, (id, name, shown))| workspace(i as i64 + 1, id, name, shown))
                .collect();
            let refs: Vec<&WorkspaceRow> = rows.iter().collect();
            let places = Workspaces::new(&rows, &[], &[ConnectionId(1)]);
            for text in texts.iter().chain(names.iter().map(|n| &n.0)) {
                proptest::prop_assert_eq!(places.find(text), match_workspace(text, &refs), "text {:?}", text);
            }
        }
    }
}
