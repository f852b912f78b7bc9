"""Run-time knobs: named, typed, documented settings that CLI flags set and `/_sim/config`
reads and changes while the simulator runs.

The table is open: the generic server registers its knobs (faults, time scale) and each
plugin registers its own (`config.register(Knob(...))`). A change is validated as a whole
and applied at once, or refused with a 422 naming every bad field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from simulator import errors

Value = bool | int | float | str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Knob:
    name: str
    default: Value
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: object) -> Value:
        """`value` as this knob's type; ValueError says why not."""
        kind = type(self.default)
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError("must be a boolean")
            return value
        if kind is str:
            return self._check_text(value)
        if kind is tuple:
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError("must be a list of strings")
            return tuple(value)
        return self._check_number(value, integer=kind is int)

    def _check_text(self, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if self.choices and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        return value

    def _check_number(self, value: object, *, integer: bool) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if integer:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("must be an integer")
            value = int(value)
        number: int | float = value if integer else float(value)
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}")
        return number

    def parse(self, text: str) -> Value:
        """A value given as text (a CLI `--set name=value`)."""
        kind = type(self.default)
        if kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError("must be true or false")
            return self.check(lowered in ("true", "1", "yes"))
        if kind is str:
            return self.check(text)
        if kind is tuple:
            return self.check([part.strip() for part in text.split(",") if part.strip()])
        try:
            return self.check(float(text) if kind is float else int(text))
        except ValueError as exc:
            raise ValueError(str(exc) if "must" in str(exc) else "must be a number") from None


class Config:
    def __init__(self, knobs: tuple[Knob, ...] = ()) -> None:
        self._knobs: dict[str, Knob] = {}
        self._values: dict[str, Value] = {}
        self._listeners: list[Callable[[], None]] = []
        for knob in knobs:
            self.register(knob)

    def register(self, knob: Knob) -> None:
        if knob.name in self._knobs:
            raise ValueError(f"knob {knob.name!r} is already registered")
        knob.check(knob.default)
        self._knobs[knob.name] = knob
        self._values[knob.name] = knob.default

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every change of values; returns the unsubscribe function.
        (Controllers re-examine their objects when a knob changes what they would do.)"""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def __contains__(self, name: object) -> bool:
        return name in self._knobs

    def __iter__(self) -> Iterator[Knob]:
        return iter(self._knobs.values())

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def get_float(self, name: str) -> float:
        value = self._values[name]
        if isinstance(value, tuple | str):
            raise TypeError(f"knob {name!r} is not a number")
        return float(value)

    def get_int(self, name: str) -> int:
        value = self._values[name]
        if isinstance(value, tuple | str):
            raise TypeError(f"knob {name!r} is not a number")
        return int(value)

    def get_bool(self, name: str) -> bool:
        return bool(self._values[name])

    def get_str(self, name: str) -> str:
        return str(self._values[name])

    def get_strings(self, name: str) -> tuple[str, ...]:
        value = self._values[name]
        return value if isinstance(value, tuple) else (str(value),)

    def snapshot(self) -> dict[str, object]:
        """Values as JSON would hold them (lists for string tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}

    def describe(self) -> dict[str, dict[str, object]]:
        described: dict[str, dict[str, object]] = {}
        for knob in self:
            entry: dict[str, object] = {
                "type": "list" if isinstance(knob.default, tuple) else type(knob.default).__name__,
                "default": list(knob.default) if isinstance(knob.default, tuple) else knob.default,
                "value": self.snapshot()[knob.name],
                "help": knob.help,
            }
            if knob.minimum is not None:
                entry["minimum"] = knob.minimum
            if knob.maximum is not None:
                entry["maximum"] = knob.maximum
            if knob.choices:
                entry["choices"] = list(knob.choices)
            described[knob.name] = entry
        return described

    def update(self, values: Mapping[str, object]) -> None:
        """Set several knobs at once, all or nothing (`errors.Invalid` lists every problem)."""
        checked: dict[str, Value] = {}
        causes = []
        for name, value in values.items():
            knob = self._knobs.get(name)
            if knob is None:
                causes.append(
                    errors.Cause(name, "Unsupported value: no such knob", "FieldValueNotSupported")
                )
                continue
            try:
                checked[name] = knob.check(value)
            except ValueError as exc:
                causes.append(errors.Cause(name, f"Invalid value: {value!r}: {exc}"))
        if causes:
            raise errors.Invalid(
                "invalid simulator config: " + "; ".join(f"{c.field}: {c.message}" for c in causes),
                causes=causes,
            )
        self._values.update(checked)
        self._changed()

    def reset(self) -> None:
        self._values = {knob.name: knob.default for knob in self}
        self._changed()
