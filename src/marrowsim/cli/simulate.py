"""``marrowsim simulate``, ``marrowsim demo`` and ``marrowsim scenarios``."""
