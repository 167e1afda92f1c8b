"""Result records: the schema, the environment fingerprint, and the atomic JSON Lines store."""
