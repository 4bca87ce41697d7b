"""One module per command (or pair of related commands); each command is one small function."""
