"""Modal and full screens shared by the apps."""
