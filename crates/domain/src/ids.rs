//! Entity ids: integers the store assigns, typed so that an organization's id cannot be passed
//! where a connection's is expected. Every read and write is scoped by an [`OrgId`].

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// An organization: it owns every other row.
    OrgId
);
id_type!(
    /// A provider connection (provider + name + credential).
    ConnectionId
);
id_type!(
    /// A workspace as spendlens stores it (an OpenAI project, an Anthropic workspace, …).
    WorkspaceId
);
id_type!(
    /// A provider API key as spendlens stores it.
    ApiKeyId
);
id_type!(
    /// One sync of one connection.
    SyncRunId
);
