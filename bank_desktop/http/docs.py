"""OpenAPI helpers: request bodies we parse ourselves, and the error responses every route has."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from bank_desktop.http.schemas import ErrorResponse

_REF = "#/components/schemas/{model}"
_BODY_MODELS: dict[str, type[BaseModel]] = {}

_ERROR_TEXT = {
    400: "The request is wrong: not JSON, a field missing or invalid (any invalid amount: a "
    "string, three decimals, too large, zero or negative), a bad query parameter, path id or "
    "header, a position beyond the store's last event, or refused by a business rule",
    401: "Missing, unknown or revoked bearer token",
    403: "Not allowed: X-Clerk-Id names someone other than the token's clerk, or the clerk lacks "
    "the role (approving takes a supervisor, and never your own request)",
    404: "Unknown account (or customer, transaction, hold or approval request)",
    409: "A version conflict the retries could not absorb, or a national id another customer holds",
    413: "Request body too large",
    415: "The body was not sent as Content-Type: application/json",
    422: "The Idempotency-Key was already used for a different request",
    503: "The event store is unavailable, or the read model did not reach the position in time",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error statuses, all with the ``{error, details}`` body."""
    return {code: {"model": ErrorResponse, "description": _ERROR_TEXT[code]} for code in codes}


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra=`` documenting a JSON body the handler parses itself (exactly)."""
    _BODY_MODELS[model.__name__] = model
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}
            },
        }
    }


def install_openapi(app: FastAPI, *, bearer: bool = False) -> None:
    """Add the request body models (and what they refer to) to the generated document, and
    with ``bearer`` the clerk's token every request needs."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        _drop_fastapi_validation_errors(document, schemas)
        for name, model in _BODY_MODELS.items():
            schema = model.model_json_schema(ref_template=_REF)
            for inner, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(inner, definition)
            schemas[name] = schema
        if bearer:
            components = document["components"]
            components["securitySchemes"] = {
                "clerkToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A clerk's API token: bank-desktop staff token CLERK",
                }
            }
            document["security"] = [{"clerkToken": []}]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_fastapi_validation_errors(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    """FastAPI documents a 422 "Validation Error" for every route with parameters; ours are
    400 with the ``{error, details}`` body (see errors.py), so that entry would mislead."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.get("422", {}).get("description") == "Validation Error":
                del responses["422"]
                responses.setdefault(
                    "400",
                    {
                        "description": _ERROR_TEXT[400],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": _REF.format(model=ErrorResponse.__name__)}
                            }
                        },
                    },
                )
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
