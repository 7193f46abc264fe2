"""The clerk's settings files: the units table (.csv/.xlsx) and the report settings file (.toml), checked with messages that name the line."""
