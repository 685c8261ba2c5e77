"""The safety triage that runs on every patient message before (or beside) the dialogue.

`bot.safety.triage.Triage.assess` says how urgent a message is (emergency, crisis, urgent or
routine) from the KB's red-flag patterns and a trained classifier; `bot.safety.alerts` records
each detection for staff. Pure Python and scikit-learn: nothing here imports Rasa, so a gate in
front of any channel can call it even when the dialogue, the action server or a database is
down.
"""
