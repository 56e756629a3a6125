"""The JSON API: folders and their items (docs/design.md, "The contract")."""
