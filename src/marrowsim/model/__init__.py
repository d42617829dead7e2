"""The hematopoiesis model: one state layout (clone class × compartment) for every story."""
