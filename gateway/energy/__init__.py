"""Energy usage: consumption derived from meter readings, reported to Volue as
``LocationEnergyUsage`` and read back per device (see ``derive.py`` for the rules)."""
