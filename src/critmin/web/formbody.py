"""Reading the body of an HTML form posted from a browser (the designer, a saved scenario's
rename / notes / tags form), the same way for every form: framework-free, from the
``Content-Type`` header and the raw body.

A form is read only when it says it is one (``application/x-www-form-urlencoded``: 415
otherwise, so a multipart or JSON body is never read as an empty form and answered as if it
had been applied), as UTF-8, strictly (a percent-escape that is not UTF-8, ``caf%E9``, is a
400, never a name saved with U+FFFD replacement characters), and with a bounded number of
fields (400 beyond)."""

from __future__ import annotations

from urllib.parse import parse_qs

from critmin.web.services import BadRequestError, UnsupportedMediaError

FORM_TYPE = "application/x-www-form-urlencoded"
"""The one content type an HTML form without a file input is posted in."""


def parse_form(
    content_type: str | None, body: bytes, *, max_fields: int, reader: str, instead: str
) -> dict[str, list[str]]:
    """The fields of a posted HTML form, every value as sent (blank ones kept).

    ``reader`` names who reads it in the 415 message (e.g. ``"the designer"``) and
    ``instead`` says how to send the same thing as JSON (e.g. ``"send scenarios as JSON to
    POST /api/simulate"``). Raises
    :class:`~critmin.web.services.UnsupportedMediaError` (415) for another content type and
    :class:`~critmin.web.services.BadRequestError` (400) for a body that is not UTF-8 text,
    holds a percent-escape that is not UTF-8, or has more than ``max_fields`` fields."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != FORM_TYPE:
        raise UnsupportedMediaError(
            f"{reader} reads HTML forms ({FORM_TYPE}), got {media or 'no Content-Type'}; {instead}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("cannot read the form: it is not UTF-8 text") from None
    try:  # strict: a percent-escape that is not UTF-8 (caf%E9) is refused, not replaced
        return parse_qs(text, keep_blank_values=True, max_num_fields=max_fields, errors="strict")
    except UnicodeDecodeError:
        raise BadRequestError("cannot read the form: it is not UTF-8 text") from None
    except ValueError:  # more fields than max_num_fields
        raise BadRequestError(
            f"cannot read the form: it has more than {max_fields:,} fields"
        ) from None
