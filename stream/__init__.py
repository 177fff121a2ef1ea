"""Stream workers: a Faust agent runs the online core on the ``readings`` topic."""
