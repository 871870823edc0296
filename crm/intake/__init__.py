"""The lead intake of SPEC §5.1: lead_intake and its webhook."""
