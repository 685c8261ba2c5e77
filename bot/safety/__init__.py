"""The safety gate and triage that run on every patient message before the dialogue.

`bot.safety.triage.Triage.assess` says how urgent a message is (emergency, crisis, urgent or
routine) from the KB's red-flag patterns and a trained classifier; `bot.safety.gate` answers
emergencies before Rasa's turn on every channel; `bot.safety.alerts` records each detection
for staff. Nothing here needs the dialogue, the action server or a database to answer.
"""
