"""What one process builds once at start-up (:class:`~gateway.runtime.process.Runtime`) and
the jobs it runs on a schedule (:mod:`gateway.runtime.periodic`), for the API, its embedded
worker and the arq workers alike."""
