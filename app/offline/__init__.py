"""offline evaluation: estimate what a policy would have earned on logged traffic. pure numpy, no i/o.

``events`` parses the event-log export; ``estimators`` has ips, snips and doubly robust with intervals and the
effective sample size; ``policies`` turns any bandit policy (or ``uniform``) into target probabilities, and
replays a policy step by step over the log. ``levers replay`` (``app.offline.cli``) puts them together.
"""
