"""The on-disk index: what a build reuses and embeds (build), how it is written and loaded (store)."""
