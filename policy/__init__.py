"""CrossGuard policy pack."""
