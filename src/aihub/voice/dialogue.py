"""The dialogue manager: intents as the model's tools, entities checked against
their JSON schema, and the state of a multi-step command.

Each session intent becomes a function tool whose parameters are its entity
schema without ``required``: the model calls it as soon as the user asks, with
what it heard. The manager merges the call into the pending command, validates
every entity, and answers the tool call with what is still missing or invalid,
so the model's next words re-ask for exactly that. Once nothing is missing the
command is complete (an ``intent`` event with ``complete: true``).

State (kept on the session, so it survives a reconnect):
``{"pending": {"name", "entities"} | None, "completed": [{"name", "entities"}]}``
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import orjson

MAX_COMPLETED = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
CALL_HINT = (
    " Call this as soon as the user asks for it, with whatever details you "
    "heard; leave out what you do not know: you will be told what to ask for."
)


@dataclass(slots=True)
class IntentOutcome:
    name: str
    entities: dict[str, Any]
    complete: bool
    missing: list[str]
    invalid: dict[str, str] = field(default_factory=dict)

    def tool_result(self, intents: dict[str, dict[str, Any]]) -> str:
        if self.complete:
            body: dict[str, Any] = {
                "status": "complete",
                "entities": self.entities,
                "instruction": "Confirm the command to the user in one sentence.",
            }
        else:
            props = intents.get(self.name, {}).get("entities", {}).get("properties", {})
            wanted = [
                f"{name} ({props.get(name, {}).get('description') or name})"
                for name in [*self.invalid, *self.missing]
            ]
            body = {
                "status": "incomplete",
                "entities": self.entities,
                "missing": self.missing,
                "invalid": self.invalid,
                "instruction": "Ask the user, briefly, for: " + ", ".join(wanted),
            }
        return orjson.dumps(body).decode()

    def event(self, turn_id: str) -> dict[str, Any]:
        return {
            "type": "intent",
            "turn_id": turn_id,
            "name": self.name,
            "entities": self.entities,
            "complete": self.complete,
            "missing": self.missing,
            "invalid": self.invalid,
        }


def tools_for(intents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tools = []
    for intent in intents:
        schema = {k: v for k, v in intent["entities"].items() if k != "required"}
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": intent["name"],
                    "description": (intent.get("description") or intent["name"])
                    + CALL_HINT,
                    "parameters": schema,
                },
            }
        )
    return tools


def pending_note(state: dict[str, Any], intents: dict[str, dict[str, Any]]) -> str:
    """A line for the system prompt while a command waits for details."""
    pending = state.get("pending")
    if not pending or pending.get("name") not in intents:
        return ""
    outcome = evaluate(intents[pending["name"]], pending["name"], pending["entities"])
    return (
        f"\n\nA '{outcome.name}' command is in progress with "
        f"{orjson.dumps(outcome.entities).decode()}; still needed: "
        f"{', '.join(outcome.missing) or 'nothing'}. When the user gives them, "
        f"call {outcome.name} again with them."
    )


def handle_call(
    state: dict[str, Any],
    intents: dict[str, dict[str, Any]],
    name: str,
    arguments: str,
) -> tuple[IntentOutcome | None, dict[str, Any]]:
    """The outcome of one tool call and the new state (None: unknown intent)."""
    spec = intents.get(name)
    if spec is None:
        return None, state
    try:
        given = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        given = {}
    if not isinstance(given, dict):
        given = {}
    pending = state.get("pending") or {}
    merged = dict(pending.get("entities", {})) if pending.get("name") == name else {}
    merged.update({k: v for k, v in given.items() if v not in (None, "")})
    outcome = evaluate(spec, name, merged)
    new_state = dict(state)
    if outcome.complete:
        completed = [*state.get("completed", []), {"name": name, "entities": merged}]
        new_state["pending"] = None
        new_state["completed"] = completed[-MAX_COMPLETED:]
    else:
        new_state["pending"] = {"name": name, "entities": outcome.entities}
    return outcome, new_state


def evaluate(
    spec: dict[str, Any], name: str, entities: dict[str, Any]
) -> IntentOutcome:
    schema = spec.get("entities", {})
    props: dict[str, Any] = schema.get("properties", {})
    valid: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    for key, value in entities.items():
        if key not in props:
            continue  # an entity the schema does not know is ignored
        problem = check(props[key], value)
        if problem is None:
            valid[key] = value
        else:
            invalid[key] = problem
    missing = [
        key
        for key in schema.get("required", [])
        if key not in valid and key not in invalid
    ]
    complete = not missing and not invalid
    return IntentOutcome(name, valid, complete, missing, invalid)


def check(schema: dict[str, Any], value: Any) -> str | None:
    """The first problem of ``value`` against a (subset of) JSON schema, or None.

    Supported: type, enum, const, minimum/maximum (and exclusive), minLength,
    maxLength, pattern, format (date, time, date-time, email), items, minItems,
    maxItems."""
    problem = _check_type(schema, value)
    if problem:
        return problem
    if "enum" in schema and value not in schema["enum"]:
        return "must be one of " + ", ".join(map(str, schema["enum"]))
    if "const" in schema and value != schema["const"]:
        return f"must be {schema['const']}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problem = _check_number(schema, value)
    elif isinstance(value, str):
        problem = _check_string(schema, value)
    elif isinstance(value, list):
        problem = _check_array(schema, value)
    return problem


def _check_type(schema: dict[str, Any], value: Any) -> str | None:
    wanted = schema.get("type")
    if wanted is None:
        return None
    names = wanted if isinstance(wanted, list) else [wanted]
    for type_name in names:
        if type_name == "null" and value is None:
            return None
        kinds = _TYPES.get(type_name)
        if kinds is None or (isinstance(value, bool) and type_name != "boolean"):
            continue
        if isinstance(value, kinds):
            return None
        if type_name == "integer" and isinstance(value, float) and value.is_integer():
            return None
    return "must be " + " or ".join(map(str, names))


def _check_number(schema: dict[str, Any], value: float) -> str | None:
    if "minimum" in schema and value < schema["minimum"]:
        return f"must be at least {schema['minimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"must be at most {schema['maximum']}"
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return f"must be more than {schema['exclusiveMinimum']}"
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        return f"must be less than {schema['exclusiveMaximum']}"
    return None


def _check_string(schema: dict[str, Any], value: str) -> str | None:
    if len(value) < schema.get("minLength", 0):
        return f"must have at least {schema['minLength']} characters"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"must have at most {schema['maxLength']} characters"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                return "has the wrong form"
        except re.error:
            return None
    return _check_format(schema.get("format"), value)


def _check_format(fmt: object, value: str) -> str | None:
    parsers = {
        "date": date.fromisoformat,
        "time": time.fromisoformat,
        "date-time": datetime.fromisoformat,
    }
    if fmt in parsers:
        try:
            parsers[str(fmt)](value)
        except ValueError:
            return f"must be a {fmt} (ISO 8601)"
    if fmt == "email" and not _EMAIL.match(value):
        return "must be an email address"
    return None


def _check_array(schema: dict[str, Any], value: list[Any]) -> str | None:
    if len(value) < schema.get("minItems", 0):
        return f"must have at least {schema['minItems']} items"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"must have at most {schema['maxItems']} items"
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            problem = check(items, item)
            if problem:
                return f"item {index} {problem}"
    return None
