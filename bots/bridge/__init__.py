"""The HTTP bridge wired into Chavion (issue 18): `bridge/http`'s ports implemented with
the bots' own services, and the Matrix accounts the bridge speaks for."""
