// CryptoSupport: see ARCHITECTURE.md
