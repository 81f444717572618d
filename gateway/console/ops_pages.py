"""The console's ops pages, each in a module of its own: Problems, Drift and Audit."""

from __future__ import annotations

from litestar import Controller

from gateway.console.audit_pages import AuditPages
from gateway.console.drift import DriftPages
from gateway.console.problems import ProblemPages

OPS_PAGES: tuple[type[Controller], ...] = (ProblemPages, DriftPages, AuditPages)
