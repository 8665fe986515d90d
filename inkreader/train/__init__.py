"""Training: the config, the prepared lines, the loop, the run's state, augmentation, averaging,
the read scale."""
