// AgentLogging: see ARCHITECTURE.md
