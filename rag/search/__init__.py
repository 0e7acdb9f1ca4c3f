"""Search: the parsed question, lexical and dense rankers, fusion, the retriever."""
