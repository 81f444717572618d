"""Volue's flexibility (SPARK) programme: enrollment, eligibility and compensation."""
