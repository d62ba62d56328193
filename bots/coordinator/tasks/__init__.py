"""The coordinator's task engine: intake, council, plan, approval, run, heal, report.

`context` (what phases use), `driver` (the reconcile loop and the phase registry),
`service` (`TaskService`: the one entry point and the events in), one module per phase.
"""
