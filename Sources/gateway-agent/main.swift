print("gateway-agent")
