"""Developer scripts (screenshots, sample agent runs); run from the repository root, not shipped."""
