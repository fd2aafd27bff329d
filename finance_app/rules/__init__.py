"""Rules: "always file merchant X under category Y", applied on import and on demand."""
