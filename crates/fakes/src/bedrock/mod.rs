//! Placeholder: this provider's fake is being written from shared/providers.
