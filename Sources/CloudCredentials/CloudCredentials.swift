// CloudCredentials: see ARCHITECTURE.md
