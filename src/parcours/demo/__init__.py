"""The deterministic generator of a realistic demo region."""
