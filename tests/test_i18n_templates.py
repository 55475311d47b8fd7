"""Every piece of text a person can read in a template goes through ``_()`` or ``{% trans %}``.

The scanner tokenizes each template with Jinja's own lexer, keeps the literal HTML (text inside
``{% trans %}`` counts as translated), replaces each ``{{ … }}``/``{% … %}`` with a marker and
parses the result as HTML. It fails on:

* letters in a text node (outside ``<script>``/``<style>``);
* letters in an attribute people read (``title``, ``alt``, ``placeholder``, ``aria-label``…,
  and ``value`` of buttons);
* a bare string literal printed in such a place (``{{ 'active' if x else 'suspended' }}``),
  while strings inside ``_()``, ``url_for()`` or CSS classes are fine;
* letters anywhere in a plain-text (email) template outside expressions.
"""

from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

TEMPLATES = Path(__file__).resolve().parent.parent / "timebank" / "templates"
VISIBLE_ATTRIBUTES = {
    "title", "alt", "placeholder", "label", "aria-label", "aria-description",
    "aria-placeholder", "aria-roledescription", "aria-valuetext", "data-bs-title",
    "data-confirm",
}
BUTTON_INPUTS = {"submit", "button", "reset"}
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext", "lazy_gettext", "_l"}
# Filters that print their input (or a literal argument) as text.
PASS_THROUGH_FILTERS = {
    "safe", "e", "escape", "upper", "lower", "title", "capitalize", "trim", "striptags",
    "format", "default", "d", "replace", "truncate", "string",
}
ENVIRONMENT = jinja2.Environment(extensions=["jinja2.ext.i18n"])


def template_paths() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})


def literal_outputs(node: nodes.Node) -> list[str]:
    """Return the string literals ``node`` would print as they are (untranslated)."""
    if isinstance(node, nodes.Const):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, nodes.CondExpr):
        return literal_outputs(node.expr1) + (
            literal_outputs(node.expr2) if node.expr2 is not None else []
        )
    if isinstance(node, nodes.Concat):
        return [text for child in node.nodes for text in literal_outputs(child)]
    if isinstance(node, nodes.Add):
        return literal_outputs(node.left) + literal_outputs(node.right)
    if isinstance(node, nodes.Filter):
        if node.name not in PASS_THROUGH_FILTERS:
            return []
        found = literal_outputs(node.node) if node.node is not None else []
        if node.name in ("default", "d"):
            found += [text for arg in node.args for text in literal_outputs(arg)]
        return found
    if isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Dict):
        return [text for pair in node.node.items for text in literal_outputs(pair.value)]
    if isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.List):
        return [text for item in node.node.items for text in literal_outputs(item)]
    return []  # calls (gettext, url_for, helpers), names, attributes: not literal text


def expression_literals(source: str) -> list[str]:
    """Return the untranslated literals printed by the expression ``source`` (``{{ … }}``)."""
    try:
        expression = ENVIRONMENT.parse("{{ " + source + " }}").body[0].nodes[0]
    except (jinja2.TemplateSyntaxError, IndexError, AttributeError):
        return []
    return [text for text in literal_outputs(expression) if any(c.isalpha() for c in text)]


def skeleton(source: str) -> tuple[str, dict[str, list[str]]]:
    """Return the template's literal text with each tag replaced by a marker, and for each
    ``{{ … }}`` marker the untranslated literals it prints."""
    parts: list[str] = []
    printed: dict[str, list[str]] = {}
    in_trans = False
    expression: list[str] | None = None
    block: list[str] | None = None
    for _, kind, value in ENVIRONMENT.lex(source):
        if kind == "data":
            parts.append(f"\x00T{len(parts)}\x00" if in_trans else value)
        elif kind == "variable_begin":
            expression = []
        elif kind == "variable_end":
            marker = f"\x00E{len(parts)}\x00"
            printed[marker] = [] if in_trans else expression_literals("".join(expression))
            parts.append(marker)
            expression = None
        elif kind == "block_begin":
            block = []
        elif kind == "block_end":
            words = block or []
            if words[:1] == ["trans"]:
                in_trans = True
            elif words[:1] == ["endtrans"]:
                in_trans = False
            parts.append(f"\x00B{len(parts)}\x00")
            block = None
        elif expression is not None:
            expression.append(value)  # raw source, quotes and white space included
        elif block is not None and kind == "name":
            block.append(value)
    return "".join(parts), printed


def _letters(text: str) -> bool:
    return any(char.isalpha() for char in text)


class _Scanner(HTMLParser):
    def __init__(self, printed: dict[str, list[str]]):
        super().__init__(convert_charrefs=True)
        self.printed = printed
        self.raw_text = 0
        self.found: list[str] = []

    def _check(self, text: str, where: str) -> None:
        plain = text
        for marker, literals in self.printed.items():
            if marker in plain:
                self.found += [f"{where}: untranslated literal {lit!r}" for lit in literals]
                plain = plain.replace(marker, " ")
        for piece in plain.split("\x00"):
            if _letters(piece) and not (piece[:1] in "TEB" and piece[1:].isdigit()):
                self.found.append(f"{where}: {piece.strip()!r}")

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.raw_text += 1
        attributes = dict(attrs)
        for name, value in attrs:
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value" and tag in ("input", "button")
                and (attributes.get("type") or "").lower() in BUTTON_INPUTS
            )
            if visible and value:
                self._check(value, f"<{tag} {name}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.raw_text -= 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.raw_text:
            self.raw_text -= 1

    def handle_data(self, data):
        if not self.raw_text:
            self._check(data, "text")


def untranslated(path: Path) -> list[str]:
    """Return the user-visible untranslated pieces of the template at ``path``."""
    text, printed = skeleton(path.read_text(encoding="utf-8"))
    scanner = _Scanner(printed)
    if path.suffix == ".txt":
        scanner._check(text, "text")
    else:
        scanner.feed(text)
        scanner.close()
    return scanner.found


@pytest.mark.parametrize(
    "path", template_paths(), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_template_text_is_translatable(path):
    found = untranslated(path)
    assert not found, f"{path.relative_to(TEMPLATES)} has untranslated text:\n" + "\n".join(found)


# --- the scanner itself ------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "<p>Hello</p>",
    "<p>{{ _('Hi') }} there</p>",
    '<a title="Open">{{ _("x") }}</a>',
    '<input type="submit" value="Save">',
    "<td>{{ 'active' if on else 'suspended' }}</td>",
    '<button aria-label="Close"></button>',
])
def test_scanner_catches_untranslated_text(tmp_path, source):
    path = tmp_path / "t.html"
    path.write_text(source, encoding="utf-8")
    assert untranslated(path)


@pytest.mark.parametrize("source", [
    "<p>{{ _('Hello') }}</p>",
    "<p>{% trans name=user %}Hello {{ name }}{% endtrans %}</p>",
    '<a class="nav-link{{ \' active\' if on }}" href="{{ url_for(\'x.y\') }}">{{ _("Go") }}</a>',
    "<td>{{ _('active') if on else _('suspended') }}</td>",
    "<script>var label = 'text';</script><p>{{ value|money(currency) }} · {{ n }}</p>",
    "<p>{{ {'a': _('A'), 'b': _('B')}[key] }}</p>",
    '<input type="text" name="q" value="{{ q }}">',
])
def test_scanner_accepts_translated_text(tmp_path, source):
    path = tmp_path / "t.html"
    path.write_text(source, encoding="utf-8")
    assert untranslated(path) == []
