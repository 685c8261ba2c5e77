"""The conversation engine and what it reads and writes (see engine.py)."""
