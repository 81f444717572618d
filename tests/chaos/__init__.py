"""The chaos suite: the whole stack on production settings under injected faults and kills,
checked against the emulators' own state.

``stack.py`` starts the processes (PostgreSQL + Redis + workers, or SQLite with the worker in
the API), ``workload.py`` plays the callers (and a busy neighbour) and records what the gateway
accepted, ``run.py`` holds the named scenarios and their phases, ``figures.py`` counts what each
phase cost upstream, ``verify.py`` compares the emulators' state with the callers' record.
"""
