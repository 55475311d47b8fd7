"""Templates ask ``can()`` only for actions the policy defines (issue 17).

``can()`` says no to an unknown action, so a misspelt action silently hides a link from
everyone ("Group ledger" once asked for ``ledger.view_all``). Every template is parsed and
every call of ``can`` must name, as a literal, an action in :data:`timebank.policy.PERMISSIONS`.
"""

from pathlib import Path

import pytest
from jinja2 import Environment, nodes

from timebank.policy import PERMISSIONS

TEMPLATES = Path(__file__).resolve().parent.parent / "timebank" / "templates"


def _can_calls(source: str):
    """Yield (line, first argument node) for every ``can(...)`` call in a template's source."""
    tree = Environment(extensions=["jinja2.ext.i18n"]).parse(source)
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "can":
            yield call.lineno, (call.args[0] if call.args else None)


def _all_calls():
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix in {".html", ".txt"}:
            for line, arg in _can_calls(path.read_text()):
                yield f"{path.relative_to(TEMPLATES)}:{line}", arg


def test_templates_ask_only_for_defined_actions():
    calls = list(_all_calls())
    assert calls, "no template calls can(): has the helper been renamed?"
    problems = []
    for where, arg in calls:
        if not isinstance(arg, nodes.Const) or not isinstance(arg.value, str):
            problems.append(f"{where}: can() needs a literal action name")
        elif arg.value not in PERMISSIONS:
            problems.append(f"{where}: can({arg.value!r}) is not an action in timebank/policy.py")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source, expected", [
    ("{% if can('ledger.view_all') %}x{% endif %}", ["ledger.view_all"]),
    ('{{ "a" if can("members.list") }}', ["members.list"]),
])
def test_the_check_finds_calls(source, expected):
    assert [arg.value for _, arg in _can_calls(source)] == expected
