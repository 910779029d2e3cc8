print("store-writer")
