"""Drift reconciliation: what each provider holds, compared with the gateway's records.

``service`` compares (a typed :class:`~gateway.reconcile.report.DriftReport`), marks the
drifted links and repairs through the outbox; ``schedule`` runs it every
``GATEWAY_RECONCILE_INTERVAL_S`` in the workers; ``gateway reconcile`` runs it by hand.
"""
