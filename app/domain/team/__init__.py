"""organization members, their roles, and invitations by link."""
