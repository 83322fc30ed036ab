"""A mistake in a template (site, social or preview) told as a person would look for it."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from publisher.exceptions import TemplateError


def template_error(
    error: jinja2.TemplateError, folder: Path, display: Callable[[Path | str], str]
) -> TemplateError:
    """Where in the templates under `folder` `error` happened: FILE:LINE and what is wrong.

    `display` writes a path as the reader would type it (Config.display_path)."""
    if isinstance(error, jinja2.TemplateNotFound):
        return TemplateError(
            f"template {error.name!r} not found: put it back (the project's templates/ "
            "folder has every template)",
            display(folder),
        )
    where: tuple[Path | str, int | None] = (folder, None)
    if isinstance(error, jinja2.TemplateSyntaxError) and error.filename:
        where = (error.filename, error.lineno)
    else:  # an error while rendering: the innermost template line in the traceback
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if frame.filename.startswith(str(folder)):
                where = (frame.filename, frame.lineno)
                break
    return TemplateError(
        f"{error.message or type(error).__name__}: fix the template", display(where[0]), where[1]
    )


def render_template(
    env: jinja2.Environment,
    folder: Path,
    display: Callable[[Path | str], str],
    name: str,
    context: Mapping[str, Any],
) -> str:
    """Template `name` of `env` (whose files are in `folder`) rendered with `context`; a mistake
    in a template is a TemplateError naming its file and line (template_error)."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateError as error:
        raise template_error(error, folder, display) from None
