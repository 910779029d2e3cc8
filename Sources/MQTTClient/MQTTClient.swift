// MQTTClient: see ARCHITECTURE.md
