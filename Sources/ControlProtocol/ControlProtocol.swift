// ControlProtocol: see ARCHITECTURE.md
