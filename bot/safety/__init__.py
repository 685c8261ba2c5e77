"""The safety gate: triage of every inbound message before the dialogue (gate.py)."""
