"""Weekly time windows and time zones, shared by tariffs (time-of-use prices) and planning (schedules).

A room of its own below both, so that neither imports the other for a calendar helper.
"""
