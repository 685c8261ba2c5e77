"""Privacy helpers shared by the Rasa server and the action server (standard library only)."""
