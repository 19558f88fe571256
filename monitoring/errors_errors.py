"""Refusals of the error log's operations."""

from core.errors import InvalidStateTransition


class ErrorAlreadyResolved(InvalidStateTransition):
    code = "error_already_resolved"
    default_message = "The error group is already resolved; it reopens by itself when the error happens again."
