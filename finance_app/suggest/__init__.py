"""Category suggestions: a text classifier trained on the caller's own categorised rows."""
