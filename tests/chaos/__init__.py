"""The chaos suite: the whole stack under injected faults and kills, checked against the emulators.

``stack.py`` starts the processes, ``workload.py`` plays the callers and records what the
gateway accepted, ``disruptions.py`` kills and flushes, ``verify.py`` compares the emulators'
own state with that record, ``run.py`` puts them together at a given :class:`~tests.chaos.run.Size`.
"""
