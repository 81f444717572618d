"""Entity sync: customers, sites and devices kept in step at the providers, as an outbox task kind.

* :mod:`.targets`: which providers take a record, and which record's upstream object must
  exist first (the planning rules the customer writes use).
* :mod:`.fresh`: the links and upserts of customer trees created in one transaction, in bulk.
* :mod:`.context`: a round's claimed tasks turned into adapter operations.
* :mod:`.kind`: :class:`~.kind.EntitySync`, the task kind the engine runs them with; it writes
  the provider links after each round and the ``record.synced``/``record.failed`` events.
"""
