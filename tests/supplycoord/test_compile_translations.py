"""`manage.py compile_translations` turns .po catalogues into .mo with polib, no GNU gettext."""

import gettext
import os
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from supplycoord.management.commands.compile_translations import catalogue_dirs

CATALOGUE = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "Stock"
msgstr "库存"

#, fuzzy
msgid "Demand"
msgstr "需求（未审）"
"""


@pytest.fixture
def locale_dir(tmp_path, settings):
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    messages = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (tmp_path / "locale" / "en" / "LC_MESSAGES").mkdir(parents=True)
    return tmp_path / "locale"


@pytest.fixture
def po_file(locale_dir):
    path = locale_dir / "zh_Hans" / "LC_MESSAGES" / "django.po"
    path.write_text(CATALOGUE, encoding="utf-8")
    return path


def compile_translations() -> str:
    out = StringIO()
    call_command("compile_translations", stdout=out)
    return out.getvalue()


def translations_of(mo_path: Path) -> gettext.GNUTranslations:
    with mo_path.open("rb") as fp:
        return gettext.GNUTranslations(fp)


def test_it_compiles_a_po_catalogue_that_gettext_reads(po_file):
    """The .mo written beside the .po gives the translation through Python's gettext."""
    output = compile_translations()

    assert translations_of(po_file.with_suffix(".mo")).gettext("Stock") == "库存"
    assert f"compiled {po_file}" in output


def test_it_leaves_fuzzy_entries_out_like_msgfmt(po_file):
    """A fuzzy (unreviewed) translation is not shown to users: the English stays."""
    compile_translations()

    assert translations_of(po_file.with_suffix(".mo")).gettext("Demand") == "Demand"


def test_it_skips_a_catalogue_whose_mo_is_newer(po_file):
    """A second run leaves an up-to-date .mo untouched."""
    compile_translations()
    mo_path = po_file.with_suffix(".mo")
    before = mo_path.stat().st_mtime_ns

    output = compile_translations()

    assert "0 catalogue(s) compiled, 1 up to date" in output
    assert mo_path.stat().st_mtime_ns == before


def test_it_recompiles_a_catalogue_edited_after_its_mo(po_file):
    """Once the .po is newer than its .mo, the .mo is written again."""
    compile_translations()
    mo_path = po_file.with_suffix(".mo")
    po_file.write_text(CATALOGUE.replace("库存", "库存量"), encoding="utf-8")
    later = mo_path.stat().st_mtime + 10
    os.utime(po_file, (later, later))

    output = compile_translations()

    assert "1 catalogue(s) compiled" in output
    assert translations_of(mo_path).gettext("Stock") == "库存量"


def test_it_compiles_nothing_when_there_are_no_catalogues_yet(locale_dir):
    """Empty zh_Hans/en folders are fine: nothing to compile, no error."""
    output = compile_translations()

    assert "0 catalogue(s) compiled, 0 up to date" in output
    assert list(locale_dir.rglob("*.mo")) == []


def test_it_names_the_file_of_a_broken_catalogue(locale_dir):
    """A .po with a syntax error stops the command with that file's path."""
    broken = locale_dir / "en" / "LC_MESSAGES" / "django.po"
    broken.write_text('msgid "Stock"\nmsgstr "库存"\nnot a keyword\n', encoding="utf-8")

    with pytest.raises(CommandError, match="django.po"):
        compile_translations()


def test_it_leaves_installed_packages_catalogues_alone(settings):
    """Only the project's catalogues are compiled, never those of packages in the virtualenv,
    even though .venv lives inside the project folder."""
    environment = Path(sys.prefix).resolve()

    assert all(not d.resolve().is_relative_to(environment) for d in catalogue_dirs())


def test_it_has_the_project_catalogue_folders_for_both_languages():
    """locale/zh_Hans and locale/en exist in the repository, ready for makemessages."""
    from django.conf import settings

    root = Path(settings.BASE_DIR) / "locale"

    assert (root / "zh_Hans" / "LC_MESSAGES").is_dir()
    assert (root / "en" / "LC_MESSAGES").is_dir()
