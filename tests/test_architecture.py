"""The floors of the package: imports point down only.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are checked by
import-linter, which reads every import statement of the package, in functions too.
"""

from importlinter.cli import lint_imports

from _paths import ROOT


def test_imports_point_down_the_floors(capsys):
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "BROKEN" not in report and " kept, 0 broken." in report
