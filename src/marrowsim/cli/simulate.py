"""``marrowsim simulate``, ``marrowsim demo`` and ``marrowsim scenarios`` (filled in by the engine work)."""
