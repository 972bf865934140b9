"""The language of what the lessons say at run time, chosen by ``NST_LANG``.

The Chinese notebooks (``notebooks/zh/``) set ``NST_LANG=zh`` in their first code cell; without
it everything is English. The lessons' messages (exercise feedback, the setup check's advice,
panel labels, figure titles) are marked with ``_()`` and looked up with Python's ``gettext`` in
the catalog ``nst_helpers/locale/<lang>/LC_MESSAGES/nst_helpers.mo``, compiled from the ``.po``
file beside it by ``tools/catalog.py`` (``make zh``). The engine's errors stay English, but
for those a lesson shows (a failed download, random weights); the notebooks' own lines: ``tr``.

    from nst_helpers.i18n import _
    print(_("Correct!"))          # 正确！ when NST_LANG=zh

The language is read at every call, not at import, so setting ``NST_LANG`` after
``import nst_helpers`` works too. A message without a translation is shown in English.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

DOMAIN = "nst_helpers"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh")  # English is the source language: it needs no catalog
ENV = "NST_LANG"


def language() -> str:
    """``NST_LANG``'s language ("zh" for zh, zh_CN, zh-Hans, zh_CN.UTF-8 …), else "en"."""
    base = os.environ.get(ENV, "").strip().lower().split(".")[0].replace("-", "_").split("_")[0]
    return base if base in LANGUAGES else "en"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` (cached); English, or a language without a compiled catalog, gets
    the identity (``gettext.NullTranslations``)."""
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[lang], fallback=True)


def _(message: str) -> str:
    """``message`` in the current language (``NST_LANG``); English is the message itself."""
    return message if (lang := language()) == "en" else translations(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current language (Chinese has one form)."""
    return translations(language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as meant in ``context`` (one English word with two
    meanings: ``pgettext("loss", "content")`` is the content loss, ``_("content")`` the image)."""
    return translations(language()).pgettext(context, message)


def tr(template: str, /, *args: object, **values: object) -> str:
    """``template`` in the current language, filled by ``str.format``: what a notebook's own code
    prints or titles, ``print(nst.tr("{n} evaluations each", n=steps))``, one code for both
    languages (tools/catalog.py finds ``tr`` in the English notebooks)."""
    return _(template).format(*args, **values) if args or values else _(template)


def N_(message: str) -> str:
    """Marks a message for the catalog without translating it yet (constants defined at import
    time, translated with ``_()`` where they are shown)."""
    return message
