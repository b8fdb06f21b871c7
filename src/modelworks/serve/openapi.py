"""OpenAPI description of the service, generated from the bundle's schema.

The request record is a pydantic model made with :func:`pydantic.create_model`: one field per schema
column (numeric as number or null, categorical and boolean as one of the training levels under the
``reject`` policy, dates and text as strings), carrying a real training row (``schema["example"]``)
as its example. The body itself is parsed by hand (one object, a list of objects, or CSV), so the
request shape is written into each operation with ``openapi_extra``.
"""

from __future__ import annotations

import io
import typing
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, create_model

from modelworks.serve.validate import FLOAT32_MAX, Column, category_string

RECORD = "Record"
PREDICTION = "Prediction"
PROBABILITIES = "Probabilities"
PROBLEM = "Problem"
VALIDATION_PROBLEM = "ValidationProblem"


class Problem(BaseModel):
    """A refused request: one sentence naming the problem and the fix."""

    detail: str


class ValidationItem(BaseModel):
    """One invalid field: where (``["body", row, field]``), what, and a machine-readable type."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(BaseModel):
    """Request rows that do not match the model's schema."""

    detail: list[ValidationItem]


def ref(name: str) -> dict[str, str]:
    """A JSON reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def _field_type(column: Column) -> Any:
    if column.kind == "numeric":
        return Annotated[float, Field(ge=-FLOAT32_MAX, le=FLOAT32_MAX)] | None
    if column.kind in ("categorical", "boolean") and column.allowed is not None:
        levels = typing.cast(Any, Literal)[tuple(sorted(column.allowed))]
        if column.kind == "boolean" and column.allowed == {"True", "False"}:
            return levels | bool | None
        return levels | None
    return str | None


def _describe(column: Column, spec: dict) -> str:
    if column.kind == "numeric":
        seen = f"; seen in training: {spec.get('min')} to {spec.get('max')}" if "min" in spec else ""
        return f"number (or null for missing){seen}"
    if column.kind in ("categorical", "boolean"):
        rule = "one of the levels seen in training" if column.allowed is not None else "any level"
        return f"{column.kind} value, {rule} (or null for missing)"
    if column.kind == "datetime":
        return "date or date-time string, such as 2024-01-31 (or null for missing)"
    return "free text (or null for missing)"


def example_record(schema: dict, columns: list[Column]) -> dict[str, Any]:
    """The schema's example training row, with levels written as the record model expects them."""
    example = dict(schema.get("example") or {})
    for column in columns:
        value = example.get(column.name)
        if column.allowed is not None and value is not None and not isinstance(value, bool):
            example[column.name] = category_string(value)
    return {c.name: example.get(c.name) for c in columns}


def record_model(schema: dict, columns: list[Column]) -> type[BaseModel]:
    """The pydantic model of one request record (documentation; bodies are checked by hand)."""
    specs = {str(c["name"]): c for c in schema["columns"]}
    fields: dict[str, Any] = {
        f"c{i}": (
            _field_type(column),
            Field(..., alias=column.name, description=_describe(column, specs[column.name])),
        )
        for i, column in enumerate(columns)
    }
    config = ConfigDict(
        extra="allow",
        title=RECORD,
        json_schema_extra={
            "description": "One row to predict: every column the model needs (null for missing); "
            "extra fields are ignored.",
            "examples": [example_record(schema, columns)],
        },
    )
    return create_model(RECORD, __config__=config, **fields)


def prediction_model(schema: dict) -> type[BaseModel]:
    """The pydantic model of one answer of ``/predict``."""
    target = schema["target"]
    labels = target.get("labels") or []
    kind: Any
    if target["task"] == "clustering":
        return create_model(
            PREDICTION,
            __config__=ConfigDict(title=PREDICTION),
            cluster=(int, Field(..., description="assigned cluster (-1: noise)")),
        )
    if target["task"] == "anomaly":
        return create_model(
            PREDICTION,
            __config__=ConfigDict(title=PREDICTION),
            anomaly_score=(float, Field(..., description="higher is more unusual")),
            is_anomaly=(bool, Field(..., description="score above the bundle's threshold")),
        )
    if target["task"] == "regression" or not labels:
        kind = float | None
    elif all(isinstance(v, str | int | bool) for v in labels):
        kind = typing.cast(Any, Literal)[tuple(labels)]
    else:
        kind = float
    return create_model(
        PREDICTION,
        __config__=ConfigDict(title=PREDICTION),
        prediction=(kind, Field(..., description=f"predicted {target['name']}")),
    )


def probabilities_model(schema: dict) -> type[BaseModel] | None:
    """The pydantic model of one answer of ``/predict_proba`` (``None`` for regression)."""
    target = schema["target"]
    if target["task"] in ("regression", "clustering", "anomaly") or not target.get("labels"):
        return None
    fields: dict[str, Any] = {
        f"p{i}": (
            float,
            Field(..., ge=0.0, le=1.0, alias=str(label), description=f"probability of {label!r}"),
        )
        for i, label in enumerate(target["labels"])
    }
    return create_model(PROBABILITIES, __config__=ConfigDict(title=PROBABILITIES), **fields)


def _example_csv(example: dict[str, Any]) -> str:
    buffer = io.StringIO()
    pd.DataFrame([example]).to_csv(buffer, index=False)
    return buffer.getvalue()


def predict_operation(
    example: dict[str, Any], answer: dict[str, Any], max_rows: int, summary: str
) -> dict[str, Any]:
    """``openapi_extra`` of a prediction endpoint: request shapes, answers and refusals.

    Parameters
    ----------
    example : dict
        Example record (see :func:`example_record`).
    answer : dict
        JSON schema of one answer (a reference to :data:`PREDICTION` or :data:`PROBABILITIES`).
    max_rows : int
        Most records per request.
    summary : str
        Description of the request body.
    """
    one_or_many = {
        "oneOf": [ref(RECORD), {"type": "array", "items": ref(RECORD), "minItems": 1, "maxItems": max_rows}]
    }
    answers = {"oneOf": [answer, {"type": "array", "items": answer, "minItems": 1, "maxItems": max_rows}]}
    csv_text = {"type": "string", "description": "CSV: a header row naming the columns, one row per record"}

    def problem(text: str, name: str = PROBLEM) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": ref(name)}}}

    return {
        "requestBody": {
            "required": True,
            "description": summary,
            "content": {
                "application/json": {
                    "schema": one_or_many,
                    "examples": {
                        "one record": {"summary": "a training row", "value": example},
                        "several records": {"summary": "a list of records", "value": [example, example]},
                    },
                },
                "text/csv": {"schema": csv_text, "example": _example_csv(example)},
            },
        },
        "responses": {
            "200": {
                "description": "One answer per record, in input order (one object for one object; "
                "CSV for a CSV body)",
                "content": {"application/json": {"schema": answers}, "text/csv": {"schema": csv_text}},
            },
            "400": problem("Malformed body, or an operation the model does not support"),
            "401": problem("Missing or wrong API key"),
            "413": problem("Body or row count over the server's limits"),
            "415": problem("Content-Type other than application/json or text/csv"),
            "422": problem("Rows that do not match the schema (field and row named)", VALIDATION_PROBLEM),
        },
    }


def install_openapi(
    app: FastAPI,
    models: list[type[BaseModel]],
    *,
    api_key: bool,
    description: str,
) -> None:
    """Replace ``app.openapi`` by one that adds ``models`` (and API-key security) to the components.

    Parameters
    ----------
    app : FastAPI
        The service.
    models : list of pydantic model classes
        Referenced by ``#/components/schemas/<title>`` in the operations.
    api_key : bool
        Whether requests need an API key (``X-API-Key`` header or ``Authorization: Bearer``).
    description : str
        Text at the top of the document.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=description, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        documented: list[type[BaseModel]] = [*models, Problem, ValidationItem, ValidationProblem]
        for model in documented:
            generated = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
            schemas.update(generated.pop("$defs", {}))
            schemas[str(generated.get("title", model.__name__))] = generated
        if api_key:
            doc["components"]["securitySchemes"] = {
                "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerAuth": {"type": "http", "scheme": "bearer"},
            }
            doc["security"] = [{"APIKeyHeader": []}, {"BearerAuth": []}]
            health = doc.get("paths", {}).get("/health", {}).get("get")
            if health is not None:
                health["security"] = []
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
