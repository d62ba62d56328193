"""Synapse as Chavion runs it: its config file, process supervision, admin API, provisioning.

This cannot live in the top-level `synapse/` folder: that folder must never be a package,
or it would shadow the `synapse` package that is the homeserver itself."""
