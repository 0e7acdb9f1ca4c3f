"""The app's CSS and the small scripts it runs in the page (scrolling to a passage, opening a cited source)."""

from __future__ import annotations

import json

import streamlit as st

CSS = """
<style>
/* Tables scroll sideways inside their own box, so nothing is clipped on a phone (390 px). */
.rag-table-wrap, [data-testid="stMarkdownContainer"] table { display: block; max-width: 100%; overflow-x: auto; }
.rag-table { border-collapse: collapse; font-size: .9rem; }
.rag-table caption { caption-side: top; text-align: left; font-weight: 600; padding: .2em 0 .4em; }
.rag-table th, .rag-table td { border: 1px solid #ddd; padding: .25em .5em; vertical-align: top; }
/* Short columns (状态, 目标, 完成 …) never wrap one character per line; the last (备注) may wrap. */
.rag-table th, .rag-table td, [data-testid="stChatMessage"] table th,
[data-testid="stChatMessage"] table td:not(:last-child) { white-space: nowrap; }
[data-testid="stChatMessage"] table td:last-child { min-width: 22em; }
.rag-passage { line-height: 1.7; overflow-wrap: anywhere; }
.rag-doc { line-height: 1.8; overflow-wrap: anywhere; }
.rag-doc h4 { margin: 1em 0 .3em; font-size: 1.05rem; }
.rag-hit { background: #fff6cc; outline: 2px solid #f2c200; border-radius: 4px; padding: .2em .3em; scroll-margin: 30vh; }
tr.rag-hit td { background: #fff6cc; }
mark { background: #ffe27a; padding: 0 .1em; }
a.rag-cite { text-decoration: none; font-weight: 600; padding: 0 .1em; }
.rag-anchor { position: relative; top: -4rem; height: 0; }
.rag-meta { color: #666; font-size: .85rem; }
/* Streamlit's English upload hints are replaced by our Chinese label. */
[data-testid="stFileUploaderDropzoneInstructions"] small { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] span { visibility: hidden; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::after { content: "或把文件拖到这里（每个文件不超过 50 MB）"; }
[data-testid="stFileUploaderDropzone"] button, [data-testid="stFileUploaderDropzone"] button * { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button::after { content: "选择文件"; font-size: .9rem; }
/* Streamlit's English "Running… / Stop" badge; the app shows its own 「正在查找…」 spinner. */
[data-testid="stStatusWidget"] { visibility: hidden; }
@media (max-width: 640px) {
  .block-container { padding-left: .8rem; padding-right: .8rem; }
  [data-testid="stChatMessage"] table, .rag-table { font-size: .8rem; }
}
</style>
"""

# Clicking a citation [n] scrolls to its source and opens it (an expander is a <details> element).
CITATION_SCRIPT = """
<script>
(function () {
  const doc = window.parent && window.parent.document ? window.parent.document : document;
  if (doc.ragCiteHandler) return;
  doc.ragCiteHandler = true;
  doc.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a.rag-cite");
    if (!link) return;
    event.preventDefault();
    const anchor = doc.getElementById(link.getAttribute("href").slice(1));
    if (!anchor) return;
    const holder = anchor.closest('[data-testid="stElementContainer"]') || anchor;
    let next = holder.nextElementSibling;
    while (next && !next.querySelector("details")) next = next.nextElementSibling;
    const details = next && next.querySelector("details");
    if (details && !details.open) details.querySelector("summary").click();
    (next || anchor).scrollIntoView({block: "start", behavior: "instant"});
  }, true);
})();
</script>
"""


def inject_css() -> None:
    st.html(CSS)
    st.html(CITATION_SCRIPT, unsafe_allow_javascript=True)


def scroll_to(element_id: str, block: str = "center") -> None:
    """Scroll the page to an element once it is drawn (it may arrive a moment after this script)."""
    target = json.dumps(element_id)
    st.html(
        f"""<script>
(function () {{
  let tries = 0;
  const timer = setInterval(function () {{
    const el = document.getElementById({target});
    if (el || ++tries > 100) {{
      clearInterval(timer);
      if (el) el.scrollIntoView({{block: {json.dumps(block)}, behavior: "instant"}});
    }}
  }}, 50);
}})();
</script>""",
        unsafe_allow_javascript=True,
    )
