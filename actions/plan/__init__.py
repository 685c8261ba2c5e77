"""Pure, Rasa-free calculations behind a patient's personal preparation plan.

Why separate: dates, fasting cut-offs and medication holds are safety-relevant arithmetic that
must be testable without a dialogue engine, a database or the network.
"""
