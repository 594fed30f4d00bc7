"""Data tools: synthetic identities, competition builder, validator and statistics."""
