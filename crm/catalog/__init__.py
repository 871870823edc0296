"""What organises contacts: tags, dispositions, lines, ring groups, sequences, the power dialer."""
