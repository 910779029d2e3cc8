// Agent: see ARCHITECTURE.md
