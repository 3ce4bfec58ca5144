"""Application errors: services raise these; the API and pages turn them into 4xx answers."""


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, message: str, *, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    """Field-by-field validation errors: extra = {field: [messages]}."""


class NotFound(ApplicationError):
    status_code = 404


class Conflict(ApplicationError):
    status_code = 409


class InvalidTransition(ApplicationError):
    status_code = 409


class PermissionDenied(ApplicationError):
    status_code = 403
