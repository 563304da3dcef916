"""Developer tools run from the repository root (`python -m tools.NAME`), not shipped in the wheel:
the README's screenshots of the real window, the inspector and the Train dialog."""
