"""The chat widget's public capture of a conversation and its lead (SPEC §5.2)."""
