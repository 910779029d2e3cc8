// WebSocketTunnel: see ARCHITECTURE.md
