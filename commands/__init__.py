"""The top floor: what a person runs (``flowcast`` CLI, ``up``, replay, evaluate, benchmarks)
and the process management behind it. Nothing imports this package; it imports every other."""
