"""One rule for every single-line text input: names, identifiers, user names, ticket numbers.

Refused: control characters (Unicode category Cc: line breaks, tabs, NUL, escape), format characters (Cf:
U+200B zero-width space, U+FEFF byte-order mark, U+202E right-to-left override, U+2066 isolates, soft
hyphen …), line and paragraph separators (Zl U+2028, Zp U+2029), surrogates (Cs) and unassigned code
points (Cn). They are invisible or reorder the text around them, so "Acme\u200b" looks like "Acme" and
"\u202egnp.exe" reads backwards — look-alike jobs and spoofed text. Multi-line text (run summaries and
details) is not subject to this rule.

Used by the models' single-line fields (so every ModelForm and the admin apply it), by the forms that are
not model forms, and by run ingestion (`POST /api/runs/`, `manage.py import_runs`).
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
MESSAGE = (
    "Must be one line of visible text: no line breaks, tabs, control characters or invisible formatting "
    "characters (found {found})."
)


def refused_characters(value):
    """The distinct refused characters in `value`, in order of appearance."""
    found = []
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES and char not in found:
            found.append(char)
    return found


def describe(chars):
    return ", ".join(f"U+{ord(char):04X}" for char in chars[:5]) + (" …" if len(chars) > 5 else "")


def single_line_problem(value):
    """An error message for `value`, or None when it is acceptable single-line text."""
    chars = refused_characters(value) if isinstance(value, str) else []
    return MESSAGE.format(found=describe(chars)) if chars else None


@deconstructible
class SingleLineTextValidator:
    code = "single_line"

    def __call__(self, value):
        problem = single_line_problem(value)
        if problem:
            raise ValidationError(problem, code=self.code)

    def __eq__(self, other):
        return isinstance(other, SingleLineTextValidator)

    def __hash__(self):
        return hash(self.code)


validate_single_line = SingleLineTextValidator()
