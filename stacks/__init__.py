"""Stack model: spec (typed, validated config), plan (pure address and routing plan), composition."""
