"""The properties: each compares the backend under test with the oracle on one concern."""
