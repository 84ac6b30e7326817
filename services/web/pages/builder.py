"""The rule builder's fields, shared by the series and fan-out forms: choices in, an RRULE out."""

from __future__ import annotations

from services.web.rules import RuleChoice, RuleError, to_rrule


def rule_from(form) -> str:
    """The RRULE a form's builder describes, or the one typed in its 'rule' field (advanced)."""
    typed = str(form.get("rule", "")).strip()
    if form.get("frequency") == "custom":
        if not typed:
            raise RuleError("rule: type an RRULE")
        return typed
    try:
        interval = int(str(form.get("interval") or 1))
        ordinal = int(str(form.get("ordinal"))) if form.get("ordinal") else None
    except ValueError:
        raise RuleError("interval: a number") from None
    return to_rrule(RuleChoice(str(form.get("frequency", "weekly")), tuple(form.getall("weekday", [])),
                               interval, ordinal))  # fmt: skip
