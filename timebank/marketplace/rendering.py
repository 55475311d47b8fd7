"""Ad descriptions are Markdown; render them to HTML that is safe to show to other members.

``markdown`` turns the text into HTML (raw HTML in the text passes through it), then ``nh3``
(the ammonia sanitizer) keeps only the tags below, drops ``<script>``/``<style>`` with their
content, keeps only http(s)/mailto links and marks every link ``rel="nofollow noopener ugc"``.
"""

import markdown as markdown_lib
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h3", "h4", "h5", "h6", "a",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str | None) -> Markup:
    """Return ``text`` (Markdown) as sanitized HTML, ready to insert into a template."""
    if not text:
        return Markup("")
    html = markdown_lib.markdown(text, extensions=["sane_lists"], output_format="html")
    # Headings 1-2 would compete with the page's own; show them as h3.
    html = html.replace("<h1>", "<h3>").replace("</h1>", "</h3>")
    html = html.replace("<h2>", "<h3>").replace("</h2>", "</h3>")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener ugc",
    )
    return Markup(clean)  # sanitized by nh3 just above
