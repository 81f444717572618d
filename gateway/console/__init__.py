"""The ops console at ``/console``: server-rendered pages over the gateway's own records."""
