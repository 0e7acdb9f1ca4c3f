"""Answers: extractive, from indicator facts (status), or by an LLM; the router picks one."""
