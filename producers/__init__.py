"""Producers: read OpenData files, normalise them into `Reading`s and replay them into Kafka.

The data path inside this package: ``formats/`` (sniff, decode, stream raw records) →
``normalise`` (validate into `Reading` or `DeadLetter`) → ``ordering`` (event-time order,
dedupe) → ``publisher`` (Kafka), driven by ``commands.replay``.
"""
