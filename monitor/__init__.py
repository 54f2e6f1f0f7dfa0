"""repmon: a reputation and follow-up monitor for trades businesses."""
