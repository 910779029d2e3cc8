// HTTPClient: see ARCHITECTURE.md
