"""Local stand-ins for the Functions runtime and its storage: the dev host and Azurite."""
