"""Reports to the provider that takes them (Volue): energy usage, plans and LPC answers."""
