"""Facts from table rows and target lists: the cell grammar, status rules and extraction at build time."""
