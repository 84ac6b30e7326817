"""The planners' desk and the operators' phone page: server-rendered pages over Loa's public APIs."""
