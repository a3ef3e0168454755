print("porin")
