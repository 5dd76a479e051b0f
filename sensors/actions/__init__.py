"""Every write of the sensors app, by topic (docs/architecture.md, Inside an app):

- `ingest.py`: a signed batch of events from a vendor's platform (HTTP push);
- `alarms.py`: the alarm rule (an urgent case on the engine) and closing an alert;
- `rules.py`: the periodic rules (inactivity, heartbeat, battery);
- `leaders.py`: telling the building group's 楼组长 of an alarm or a 上门探视;
- `devices.py`: the registry's bulk import from a vendor's CSV;
- `consents.py`: an elder's (or family's) consent to sensors in the home.

Callers import from the module that holds the function; this package re-exports nothing.
"""
