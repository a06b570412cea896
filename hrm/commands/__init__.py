"""CLI commands, one module per command; each imports its heavy dependencies inside the function so
`hrm --help` stays fast."""
