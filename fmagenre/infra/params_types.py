"""The kinds of value params.yaml holds, beyond plain types: one value or a list of them,
an http(s) URL, bounded numbers. Each carries its rule and the JSON schema that says it."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlparse

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

T = TypeVar("T")


def _one_or_many(value: Any) -> Any:
    """`depth: 6` is `depth: [6]`; a list becomes a tuple, so a frozen section stays as read."""
    if isinstance(value, list):
        return tuple(value)
    return value if isinstance(value, tuple) else (value,)


class _ItemOrListSchema:
    """The JSON schema of a OneOrMany field says what the loader takes: an item or a list."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        items = handler(core_schema)["items"]
        return {"anyOf": [items, {"type": "array", "items": items, "minItems": 1}]}


def _http_url(value: str) -> str:
    url = urlparse(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError("not an http:// or https:// URL")
    return value


OneOrMany = Annotated[
    tuple[T, ...], BeforeValidator(_one_or_many), Field(min_length=1), _ItemOrListSchema()
]
HttpUrl = Annotated[
    str, AfterValidator(_http_url), WithJsonSchema({"type": "string", "format": "uri"})
]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Seed = Annotated[int, Field(ge=0)]
