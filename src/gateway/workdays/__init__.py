"""Operator-managed changes to the office calendar (gateway.calendar): the compensatory days off
and working Saturdays the government announces each year, a province's own days off, and
summer/winter office hours. Stored in `calendar_changes`, audited, laid over the public
holidays when the calendar is loaded (`service.load_calendar`)."""
