"""Request plumbing shared by the blueprints: errors, identity, limits, validation."""
