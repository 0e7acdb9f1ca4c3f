"""The Streamlit chat's pages (app.py is the entry point): chat, document view, documents page.

Everything shown comes from `rag.engine.Engine` and `rag.present`; these modules only lay it out.
"""
