"""The shape of ``deltabase_config.py``: DeltaBase's ``InfrastructureConfig`` as pydantic models.

Field names are the TypeScript ones (``eventStores``, ``eventFilter``, ``retryPolicy``…), so the
seed's ``deltabase.config.ts`` reads across one to one. Models are frozen and validated when
built; :func:`load_infrastructure` turns pydantic's errors into one
:class:`InfrastructureConfigError` listing each problem by its path. Header values that look
secret (``Authorization``, keys, tokens, cookies) are shown as ``***`` by ``repr``/``str``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bank_desktop.eventstore.errors import StoreConfigError

_STORE_NAME: Final = re.compile(r"^[a-z0-9_-]{3,63}$")
_EVENT_TYPE: Final = re.compile(r"^[A-Za-z0-9_.:-]+$")
_SECRET_HEADER: Final = re.compile(r"(?i)authorization|cookie|token|secret|key|password")


class InfrastructureConfigError(StoreConfigError):
    """``deltabase_config.py`` describes something DeltaBase would not accept."""


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with secret-looking values masked (``Bearer ***`` keeps the scheme visible)."""
    shown = {}
    for name, value in headers.items():
        shown[name] = value
        if _SECRET_HEADER.search(name):
            scheme, _, rest = value.partition(" ")
            shown[name] = f"{scheme} ***" if rest and scheme.isalpha() else "***"
    return shown


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RetryPolicy(_Model):
    """How often DeltaBase retries a failed webhook delivery, and how long it waits between."""

    maxAttempts: int = Field(ge=1, le=100)
    backoffMinutes: float = Field(ge=0, le=24 * 60)


class WebhookConfig(_Model):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    timeoutMs: int | None = Field(default=None, ge=100, le=300_000)
    retryPolicy: RetryPolicy | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; put them in headers")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not name or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
                raise ValueError(f"{name!r} is not a valid header name")
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, mask_headers(value) if name == "headers" else value


class SubscriptionConfig(_Model):
    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    eventFilter: str | list[str]
    subscriberType: Literal["webhook"]
    webhook: WebhookConfig | None = None
    initialPosition: Literal["latest", "earliest"] | None = None

    @field_validator("eventFilter")
    @classmethod
    def _filter(cls, value: str | list[str]) -> str | list[str]:
        patterns = [value] if isinstance(value, str) else value
        if not patterns:
            raise ValueError("must name at least one event type or pattern")
        if len(set(patterns)) != len(patterns):
            raise ValueError("lists an event type twice")
        for pattern in patterns:
            core = pattern.removeprefix("*.").removesuffix(".*")
            if pattern != "*" and not _EVENT_TYPE.match(core):
                raise ValueError(
                    f"{pattern!r} is not '*', 'namespace.*', '*.suffix' or an event type"
                )
        return value

    @model_validator(mode="after")
    def _webhook_present(self) -> SubscriptionConfig:
        if self.subscriberType == "webhook" and self.webhook is None:
            raise ValueError("a webhook subscription needs 'webhook' (url, headers, …)")
        return self

    @property
    def event_types(self) -> list[str]:
        return [self.eventFilter] if isinstance(self.eventFilter, str) else list(self.eventFilter)


class EventStoreSettings(_Model):
    retentionPeriodDays: int | None = Field(default=None, ge=1)
    maxStreamSizeBytes: int | None = Field(default=None, ge=1)


class EventStoreConfig(_Model):
    name: str
    description: str | None = Field(default=None, max_length=255)
    settings: EventStoreSettings | None = None
    subscriptions: list[SubscriptionConfig] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _STORE_NAME.match(value):
            raise ValueError("must be 3 to 63 of a-z, 0-9, '-' and '_' (DeltaBase's rule)")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> EventStoreConfig:
        ids = [s.id for s in self.subscriptions]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise ValueError(f"subscription ids must be unique: {', '.join(doubled)}")
        return self


class InfrastructureConfig(_Model):
    """What ``bank-desktop deploy`` creates on DeltaBase (``deltabase.config.ts``'s type)."""

    eventStores: list[EventStoreConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> InfrastructureConfig:
        names = [s.name for s in self.eventStores]
        if len(set(names)) != len(names):
            raise ValueError("event store names must be unique")
        return self

    def event_store(self, name: str) -> EventStoreConfig | None:
        return next((s for s in self.eventStores if s.name == name), None)


#: The seed imports the type under this name.
DeltaBaseConfig = InfrastructureConfig


def load_infrastructure(
    data: Mapping[str, Any], *, source: str = "deltabase_config.py"
) -> InfrastructureConfig:
    """Validate plain data (the seed's object literal) into an InfrastructureConfig."""
    try:
        return InfrastructureConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, source) from None


def config_error(exc: ValidationError, source: str) -> InfrastructureConfigError:
    """One readable error for all of pydantic's, by path; never quoting header values."""
    lines = []
    for problem in exc.errors(include_input=False, include_url=False):
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]
        ).lstrip(".")
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"  {path or '(top level)'}: {message}")
    return InfrastructureConfigError(
        f"{source} is not a valid DeltaBase config:\n" + "\n".join(lines)
    )
