print("identity-responder")
