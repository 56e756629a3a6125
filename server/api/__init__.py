"""The JSON API (SPEC "Contract"): folders and their items."""
