"""Accounts: local sign-up and sign-in with a username and a password (Argon2id)."""
