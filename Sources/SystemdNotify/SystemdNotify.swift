// SystemdNotify: see ARCHITECTURE.md
