// IdentityStore: see ARCHITECTURE.md
