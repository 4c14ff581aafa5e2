"""Outage incidents: when an agency's push endpoint (or the gateway's upstream link to the
national axis) has been failing for more than the threshold of *working* time (4 working hours
by default: the point where agencies must fall back to paper), an incident is raised; when the
endpoint recovers, the incident closes with its duration and the backlog drains by itself.

- `health`: the durable, cross-process health of each push target, written in the same
  transaction as each push (or upstream forward) result;
- `service`: the rules — when an incident opens, how it closes, the drain of the backlog
  (urgent first);
- `monitor`: the periodic step that opens incidents (and closes any a crash left open);
- `report`: the incidents and the documents they affected (CLI, API, dashboard).
"""
