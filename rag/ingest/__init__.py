"""Documents in: readers per format, cleaning, metadata, loading a folder."""
